// Renders content/*.md (front matter: title, order) into dist/, with a
// table of contents per page and highlighted code blocks.
import { readFile, readdir, mkdir, writeFile, copyFile } from "node:fs/promises";
import path from "node:path";
import matter from "gray-matter";
import { Marked } from "marked";
import { markedHighlight } from "marked-highlight";
import hljs from "highlight.js";
import GithubSlugger from "github-slugger";

const root = path.resolve(import.meta.dirname, "..");
const out = path.join(root, "dist");

function renderer() {
  const slugger = new GithubSlugger();
  const toc = [];
  const marked = new Marked(
    markedHighlight({
      emptyLangClass: "hljs",
      langPrefix: "hljs language-",
      highlight(code, lang) {
        const language = hljs.getLanguage(lang) ? lang : "plaintext";
        return hljs.highlight(code, { language }).value;
      },
    }),
  );
  marked.use({
    renderer: {
      heading({ tokens, depth }) {
        const text = this.parser.parseInline(tokens);
        const id = slugger.slug(text.replace(/<[^>]+>/g, ""));
        if (depth <= 3) toc.push({ id, text, depth });
        return `<h${depth} id="${id}"><a href="#${id}">${text}</a></h${depth}>\n`;
      },
    },
  });
  return { marked, toc };
}

async function main() {
  const template = await readFile(path.join(root, "templates", "page.html"), "utf8");
  const files = (await readdir(path.join(root, "content"))).filter((f) => f.endsWith(".md"));
  const pages = [];
  for (const f of files) {
    const { data, content } = matter(await readFile(path.join(root, "content", f), "utf8"));
    const { marked, toc } = renderer();
    const body = marked.parse(content);
    pages.push({ slug: f.replace(/\.md$/, ""), title: data.title ?? f, order: data.order ?? 99, body, toc });
  }
  pages.sort((a, b) => a.order - b.order || a.title.localeCompare(b.title));
  await mkdir(out, { recursive: true });
  const nav = pages.map((p) => `<li><a href="${p.slug}.html">${p.title}</a></li>`).join("\n");
  for (const p of pages) {
    const toc = p.toc.map((t) => `<li class="d${t.depth}"><a href="#${t.id}">${t.text}</a></li>`).join("\n");
    const html = template
      .replaceAll("{{title}}", p.title)
      .replace("{{nav}}", nav)
      .replace("{{toc}}", toc)
      .replace("{{body}}", p.body);
    await writeFile(path.join(out, `${p.slug}.html`), html);
  }
  await copyFile(path.join(out, `${pages[0].slug}.html`), path.join(out, "index.html"));
  const css = path.join(root, "node_modules", "highlight.js", "styles", "github.css");
  await copyFile(css, path.join(out, "highlight.css"));
  console.log(`rendered ${pages.length} pages into dist/`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
