// A typed TypeScript client: openapi-fetch over the types openapi-typescript generates from
// Rampart's OpenAPI document (`rampart.d.ts` beside this file). Every path, parameter, body
// and answer below is checked against the document at compile time; the generated-clients
// test (crates/rampart-cli/tests/cli/clients.rs) type-checks this file with `tsc --strict`.
import createClient from "openapi-fetch";
import type { components, paths } from "./rampart";

type Finding = components["schemas"]["FindingBody"];

/** A client that sends the API key (authentication is a bearer token). */
export function rampart(baseUrl: string, key: string) {
    return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${key}` } });
}

/** Waits out a 429 for the `Retry-After` seconds the server sent. */
async function waitOut(response: Response): Promise<boolean> {
    if (response.status !== 429) return false;
    const seconds = Number(response.headers.get("Retry-After") ?? "1");
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    return true;
}

/** A product with one release; the release's id. */
export async function productWithRelease(client: ReturnType<typeof rampart>, name: string, version: string): Promise<number> {
    const product = await client.POST("/api/v1/products", { body: { name, tags: ["sdk"] } });
    if (product.error) throw new Error(`${product.error.error.code}: ${product.error.error.message}`);
    const release = await client.POST("/api/v1/products/{id}/releases", {
        params: { path: { id: product.data.id } },
        body: { version },
    });
    if (release.error) throw new Error(`${release.error.error.code}: ${release.error.error.message}`);
    return release.data.id;
}

/** Every finding of a release, page by page, retrying after a 429. */
export async function allFindings(client: ReturnType<typeof rampart>, releaseId: number): Promise<Finding[]> {
    const findings: Finding[] = [];
    let page = 1;
    for (;;) {
        const { data, error, response } = await client.GET("/api/v1/releases/{id}/vulnerabilities", {
            params: { path: { id: releaseId }, query: { page, per_page: 100 } },
        });
        if (await waitOut(response)) continue;
        if (error) throw new Error(`${error.error.code}: ${error.error.message}`);
        findings.push(...data.items);
        if (findings.length >= data.total || data.items.length === 0) return findings;
        page += 1;
    }
}
