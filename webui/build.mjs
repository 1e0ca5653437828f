// Bundles src/main.ts (and the pages it loads on demand) with esbuild into ../portald/webui_dist/:
// assets/<name>.<hash>.js|css, index.html naming them, and a .gz of each (the daemon serves those as
// they are). The output is built in a temporary folder and swapped in whole.
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "portald", "webui_dist");
const tmp = `${out}.tmp-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });

const result = await esbuild.build({
  entryPoints: [join(here, "src", "main.ts")],
  bundle: true,
  splitting: true,
  format: "esm",
  target: ["chrome100", "firefox100", "safari15"],
  minify: true,
  sourcemap: false,
  legalComments: "none",
  outdir: join(tmp, "assets"),
  entryNames: "[name].[hash]",
  chunkNames: "chunk.[hash]",
  assetNames: "[name].[hash]",
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.entries(result.metafile.outputs);
const entry = outputs.find(([, o]) => o.entryPoint && o.entryPoint.endsWith("src/main.ts"));
const js = basename(entry[0]);
const css = entry[1].cssBundle ? basename(entry[1].cssBundle) : null;
const version = createHash("sha256").update(js).digest("hex").slice(0, 8);

const index = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="portald-ui-build" content="${version}">
<title>portald</title>
${css ? `<link rel="stylesheet" href="/ui/assets/${css}">` : ""}
<script type="module" src="/ui/assets/${js}"></script>
</head>
<body>
<div id="app"></div>
<noscript><p>This page needs JavaScript. Without it, use the REST API: log in with
<code>POST /auth/login?m=2</code> (or <code>m=0</code> for an OS account), then start with
<code>GET /edgehub/api/profile</code> and <code>GET /platform/api/plugins</code>.</p></noscript>
</body>
</html>
`;
writeFileSync(join(tmp, "index.html"), index);
// what loads what (not served): bench/webui_weight.py follows it to weigh a page's first load
const meta = { entry: js, css, outputs: {} };
for (const [path, o] of outputs) {
  meta.outputs[basename(path)] = {
    entryPoint: o.entryPoint || null,
    imports: o.imports.filter((i) => !i.external).map((i) => ({ file: basename(i.path), kind: i.kind })),
  };
}
writeFileSync(join(tmp, "meta.json"), JSON.stringify(meta, null, 1));

for (const dir of [tmp, join(tmp, "assets")]) {
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    if (!name.isFile() || name.name === "meta.json") continue;
    const path = join(dir, name.name);
    writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }));
  }
}

const old = `${out}.old-${process.pid}`;
mkdirSync(dirname(out), { recursive: true });
try { renameSync(out, old); } catch (e) { if (e.code !== "ENOENT") throw e; }
renameSync(tmp, out);
rmSync(old, { recursive: true, force: true });
console.log(`webui: built ${outputs.length} files into ${out} (entry ${js})`);
