// Renders diagrams for analytics_orchestration.diagrams.render (run by `node`, never imported).
//
// argv[2]: the node_modules directory holding @viz-js/viz (Graphviz compiled to WebAssembly)
// and @resvg/resvg-js (the rasterizer), both pinned in the project's package.json.
// stdin: a JSON array of jobs, each {op: "svg", dot, images: [{name, width, height}]} or
// {op: "png", svg, width}. stdout: a JSON array with, per job, {svg} / {png: base64} or
// {error}. One process renders a whole batch: loading the WebAssembly module is the cost.
"use strict";
const path = require("path");
const { createRequire } = require("module");

const load = createRequire(path.join(process.argv[2], "package.json"));

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const jobs = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  let viz = null;
  let resvg = null;
  const results = [];
  for (const job of jobs) {
    try {
      if (job.op === "svg") {
        viz = viz || (await load("@viz-js/viz").instance());
        const result = viz.render(job.dot, { format: "svg", images: job.images || [] });
        if (result.status !== "success") {
          results.push({ error: result.errors.map((e) => e.message).join("; ") });
        } else {
          results.push({ svg: result.output });
        }
      } else if (job.op === "png") {
        resvg = resvg || load("@resvg/resvg-js");
        const options = { fitTo: { mode: "width", value: job.width }, background: "white",
                          font: { loadSystemFonts: true, sansSerifFamily: job.sansSerif,
                                  defaultFontFamily: job.sansSerif } };
        const png = new resvg.Resvg(job.svg, options).render().asPng();
        results.push({ png: Buffer.from(png).toString("base64") });
      } else {
        results.push({ error: `unknown op ${job.op}` });
      }
    } catch (error) {
      results.push({ error: String((error && error.stack) || error) });
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  process.stderr.write(String((error && error.stack) || error));
  process.exit(1);
});
