// The `curl` examples of README.md as argument lists: the ```sh blocks read the way sh reads them
// (comments, 'single' and "double" quotes, words glued to quotes, backslash-newline), so a test
// can run each with curl itself and a broken example fails it.
import { readFileSync } from "fs";
import { join } from "path";

/** The commands of a sh snippet, each as its words. */
export function shellCommands(text: string): string[][] {
	const commands: string[][] = [];
	let words: string[] = [];
	let word: string | null = null;
	const endWord = () => {
		if (word !== null) words.push(word);
		word = null;
	};
	const endCommand = () => {
		endWord();
		if (words.length) commands.push(words);
		words = [];
	};
	for (let i = 0; i < text.length; i++) {
		const c = text[i];
		if (c === "\\" && text[i + 1] === "\n")
			i++; // a continuation line
		else if (c === "\n" || c === ";") endCommand();
		else if (c === " " || c === "\t") endWord();
		else if (c === "#" && word === null) while (i + 1 < text.length && text[i + 1] !== "\n") i++;
		else if (c === "'") {
			const end = text.indexOf("'", i + 1);
			if (end < 0) throw new Error(`unclosed ' in: ${text.slice(i, i + 40)}`);
			word = (word ?? "") + text.slice(i + 1, end);
			i = end;
		} else if (c === '"') {
			let j = i + 1;
			let s = "";
			for (; j < text.length && text[j] !== '"'; j++) s += text[j] === "\\" && '"\\$`'.includes(text[j + 1]) ? text[++j] : text[j];
			if (j >= text.length) throw new Error(`unclosed " in: ${text.slice(i, i + 40)}`);
			word = (word ?? "") + s;
			i = j;
		} else if (c === "\\") word = (word ?? "") + text[++i];
		else word = (word ?? "") + c;
	}
	endCommand();
	return commands;
}

/** Every curl command in README.md's sh code blocks, in order. */
export function readmeCurls(readme = readFileSync(join(__dirname, "../../README.md"), "utf8")): string[][] {
	const blocks = [...readme.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```/gm)].map(m => m[1]);
	return blocks.flatMap(shellCommands).filter(words => words[0] === "curl");
}
