// Writes go-random.txt: random Go module versions compared by golang.org/x/mod/semver.
// Usage: go run ./go OUT_DIR (with golang.org/x/mod available).
package main

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/semver"
)

func main() {
	random := rand.New(rand.NewSource(9))
	pick := func(items []string) string { return items[random.Intn(len(items))] }
	numbers := []string{"0", "1", "2", "10", "01", "00", "99999999999999999999999", ""}
	identifiers := []string{"alpha", "beta", "rc", "0", "1", "2", "10", "01", "a-b", "-", "x1", "RC",
		"20200101000000-abcdefabcdef", "", "incompatible"}
	version := func() string {
		text := "v" + pick(numbers)
		if random.Float64() < 0.85 {
			text += "." + pick(numbers)
			if random.Float64() < 0.85 {
				text += "." + pick(numbers)
			}
		}
		if random.Float64() < 0.5 {
			parts := []string{}
			for i := 0; i <= random.Intn(3); i++ {
				parts = append(parts, pick(identifiers))
			}
			text += "-" + strings.Join(parts, ".")
		}
		if random.Float64() < 0.3 {
			text += "+" + pick(identifiers)
		}
		return text
	}
	valid := []string{}
	for i := 0; i < 3000; i++ {
		if v := version(); semver.IsValid(v) {
			valid = append(valid, v)
		}
	}
	lines := []string{}
	for i := 0; i < 40000; i++ {
		a, b := pick(valid), pick(valid)
		lines = append(lines, a+" "+map[int]string{-1: "<", 0: "=", 1: ">"}[semver.Compare(a, b)]+" "+b)
	}
	out := filepath.Join(os.Args[1], "go-random.txt")
	if err := os.WriteFile(out, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		panic(err)
	}
}
