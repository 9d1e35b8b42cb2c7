import java.io.BufferedReader;
import java.io.InputStreamReader;

import org.apache.maven.artifact.versioning.ComparableVersion;

/** Reads "A B" lines and prints "A op B" as maven-artifact's ComparableVersion orders them. */
public class MavenPairs {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String line;
        while ((line = in.readLine()) != null) {
            String[] pair = line.split(" ");
            int order = Integer.signum(
                    new ComparableVersion(pair[0]).compareTo(new ComparableVersion(pair[1])));
            System.out.println(pair[0] + " " + (order < 0 ? "<" : order == 0 ? "=" : ">") + " " + pair[1]);
        }
    }
}
