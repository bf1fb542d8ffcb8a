// Lists the functions of assembly/ and host/ (TypeScript and AssemblyScript) with their length in lines, longest
// first, and exits 1 when one is longer than the limit (70 lines: TigerBeetle's rule). A small scanner, not a
// parser: it skips strings, template literals, comments and regular expressions, matches braces, and calls a block a
// function when the text before its `{` is a function, method, accessor, constructor or arrow function head.
//
//   node scripts/function-lengths.mjs [--max 70] [--top 20] [DIR ...]

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..");
const FUNCTION_LINES_MAX = 70;

function sourceFiles(directory) {
  const out = [];
  for (const entry of readdirSync(directory)) {
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.ts$/.test(entry) && !entry.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** The source with strings, templates, comments and regular expressions blanked out (newlines kept). */
export function blankNonCode(text) {
  let out = "";
  let i = 0;
  let lastSignificant = "";
  const blank = (from, to) => {
    for (let k = from; k < to; k++) out += text[k] === "\n" ? "\n" : " ";
  };
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    let end = -1;
    if (c === "/" && next === "/") end = text.indexOf("\n", i) < 0 ? text.length : text.indexOf("\n", i);
    else if (c === "/" && next === "*") end = text.indexOf("*/", i + 2) + 2;
    else if (c === "'" || c === '"' || c === "`") end = closingQuote(text, i);
    else if (c === "/" && /[=(,:;!&|?{}[\n+*%<>~^-]$|^$|return$/.test(lastSignificant)) end = closingRegex(text, i);
    if (end > i) {
      blank(i, end);
      i = end;
      if (c === "'" || c === '"' || c === "`") lastSignificant = "x";
      continue;
    }
    out += c;
    if (!/\s/.test(c)) lastSignificant = /[A-Za-z0-9_$]/.test(c) ? (/return$/.test(out.slice(-6)) ? "return" : "x") : c;
    i++;
  }
  return out;
}

function closingQuote(text, start) {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") {
      i++;
      continue;
    }
    if (text[i] === quote) return i + 1;
    if (quote === "`" && text[i] === "$" && text[i + 1] === "{") {
      // A template's expression: skip to its matching brace (nested templates are rare here).
      let depth = 1;
      i += 2;
      while (i < text.length && depth > 0) {
        if (text[i] === "{") depth++;
        else if (text[i] === "}") depth--;
        else if (text[i] === "`" || text[i] === "'" || text[i] === '"') i = closingQuote(text, i) - 1;
        i++;
      }
      i--;
    }
  }
  return text.length;
}

function closingRegex(text, start) {
  let inClass = false;
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === "\n") return -1;
    if (c === "\\") i++;
    else if (c === "[") inClass = true;
    else if (c === "]") inClass = false;
    else if (c === "/" && !inClass) {
      let j = i + 1;
      while (/[a-z]/.test(text[j] ?? "")) j++;
      return j;
    }
  }
  return -1;
}

const FUNCTION_HEAD = [
  /\bfunction\b[^{;]*$/, // function name(...) {, function (...) {
  /=>\s*$/, // arrow function body
  /^\s*(?:(?:export|public|private|protected|static|async|readonly|override|get|set|@inline)\s+)*(?:constructor|[A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\([^;]*\)\s*(?::\s*[^;{=]+)?\s*$/, // methods
];

/** Every function of one file: { name, line, lines }. */
export function functionsOf(text) {
  const code = blankNonCode(text);
  const found = [];
  // Braces of blocks (bodies, statements) and transparent ones (type literals, object literals): these neither end
  // nor start a head, so `f(): { a: T; b: U }[] {` is still seen as one function head.
  const stack = [];
  let line = 1;
  let headStart = 0;
  const inTransparent = () => stack.length > 0 && stack[stack.length - 1].transparent;
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === "\n") line++;
    if (c === "{") {
      let head = code.slice(headStart, i).replace(/\s+/g, " ");
      // Type and object literals inside the head count as one word.
      while (/\{[^{}]*\}/.test(head)) head = head.replace(/\{[^{}]*\}/g, "T");
      if (inTransparent() || /[:(,=[?|&<]\s*$/.test(head)) {
        stack.push({ transparent: true });
        continue;
      }
      const isFunction = FUNCTION_HEAD.some((pattern) => pattern.test(head)) && !/^\s*(?:if|for|while|switch|catch|with|else|do|try|finally)\b/.test(head.trim());
      const name = isFunction ? (/(?:function\s+|\b)([A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\s*\(/.exec(head)?.[1] ?? "(arrow)") : undefined;
      stack.push({ line, name, isFunction, transparent: false });
      headStart = i + 1;
    } else if (c === "}") {
      const open = stack.pop();
      if (open?.transparent) continue;
      if (open?.isFunction) found.push({ name: open.name, line: open.line, lines: line - open.line + 1 });
      headStart = i + 1;
    } else if (c === ";" && !inTransparent()) {
      headStart = i + 1;
    }
  }
  return found;
}

function main() {
  const args = process.argv.slice(2);
  const max = args.includes("--max") ? Number(args[args.indexOf("--max") + 1]) : FUNCTION_LINES_MAX;
  const top = args.includes("--top") ? Number(args[args.indexOf("--top") + 1]) : 20;
  const directories = args.filter((arg, i) => !arg.startsWith("--") && !["--max", "--top"].includes(args[i - 1]));
  const all = [];
  for (const directory of directories.length ? directories : ["assembly", "host"]) {
    for (const file of sourceFiles(join(root, directory))) {
      for (const fn of functionsOf(readFileSync(file, "utf8"))) all.push({ ...fn, file: relative(root, file) });
    }
  }
  all.sort((a, b) => b.lines - a.lines);
  for (const fn of all.slice(0, top)) console.log(`${String(fn.lines).padStart(4)}  ${fn.file}:${fn.line}  ${fn.name}`);
  const over = all.filter((fn) => fn.lines > max);
  console.log(over.length === 0 ? `every function is at most ${max} lines (${all.length} functions)` : `${over.length} functions longer than ${max} lines`);
  process.exitCode = over.length === 0 ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
