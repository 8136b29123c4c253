// The MDN HTTP Observatory's header tests on hand-built responses, offline:
//   node observatory.mjs <package dir> < cases.json
// A case is {headers: {name: [values]}}; it answers, per case, {test name: result} for the tests
// that read only response headers (CSP, X-Content-Type-Options, X-Frame-Options,
// Referrer-Policy, HSTS, CORP). The response is an https one with a valid certificate.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

// npm's postinstall downloads the HSTS preload list; installed offline (--ignore-scripts) it is
// missing. An empty one: headeraudit never consults the preload list either.
const preload = process.argv[2] + "/conf/hsts-preload.json";
if (!existsSync(preload)) {
  mkdirSync(process.argv[2] + "/conf", { recursive: true });
  writeFileSync(preload, "{}");
}
const dir = pathToFileURL(process.argv[2] + "/src/").href;
const { Requests } = await import(dir + "types.js");
const tests = {
  "content-security-policy": (await import(dir + "analyzer/tests/csp.js")).contentSecurityPolicyTest,
  "x-content-type-options": (await import(dir + "analyzer/tests/x-content-type-options.js")).xContentTypeOptionsTest,
  "x-frame-options": (await import(dir + "analyzer/tests/x-frame-options.js")).xFrameOptionsTest,
  "referrer-policy": (await import(dir + "analyzer/tests/referrer-policy.js")).referrerPolicyTest,
  "strict-transport-security": (await import(dir + "analyzer/tests/strict-transport-security.js")).strictTransportSecurityTest,
  "cross-origin-resource-policy": (await import(dir + "analyzer/tests/cross-origin-resource-policy.js")).crossOriginResourcePolicyTest,
};

function response(headers) {
  // As axios hands them to the Observatory: lower-case names, one value per name (joined), and get().
  const plain = {};
  for (const [name, values] of Object.entries(headers)) plain[name.toLowerCase()] = values.join(", ");
  Object.defineProperty(plain, "get", { value: (name) => plain[name.toLowerCase()] ?? null, enumerable: false });
  return { headers: plain, status: 200, verified: true, httpEquiv: new Map(), data: "" };
}

const cases = JSON.parse(readFileSync(0, "utf8"));
const out = cases.map(({ headers }) => {
  const requests = new Requests("www.example.com");
  requests.responses.auto = response(headers);
  requests.responses.https = requests.responses.auto;
  requests.responses.cors = requests.responses.auto;
  requests.session = { url: new URL("https://www.example.com/") };
  requests.resources.path = "<!doctype html><html><head></head><body></body></html>";
  return Object.fromEntries(Object.entries(tests).map(([name, test]) => [name, test(requests).result]));
});
process.stdout.write(JSON.stringify(out));
