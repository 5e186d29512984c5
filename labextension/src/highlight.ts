/**
 * Highlighting of `%%agent` / `%%agent_chat` cells.
 *
 * A CodeMirror 6 view plugin: when the first line of an editor is an agent cell magic, that line
 * gets the class `cm-nbagents-magic` and every line below it `cm-nbagents-prompt`, so the task text
 * reads as prose rather than as (mis-highlighted) Python.
 */
import { RangeSetBuilder } from '@codemirror/state';
import {
  Decoration,
  DecorationSet,
  EditorView,
  ViewPlugin,
  ViewUpdate
} from '@codemirror/view';

/** Matches the magic line of an agent cell: `%%agent`, `%%agent_chat`, with options after it. */
export const AGENT_MAGIC = /^%%agent(_chat)?(\s|$)/;

const magicLine = Decoration.line({ class: 'cm-nbagents-magic' });
const promptLine = Decoration.line({ class: 'cm-nbagents-prompt' });
const optionMark = Decoration.mark({ class: 'cm-nbagents-option' });

function decorate(view: EditorView): DecorationSet {
  const builder = new RangeSetBuilder<Decoration>();
  const doc = view.state.doc;
  const first = doc.line(1);
  if (!AGENT_MAGIC.test(first.text)) {
    return builder.finish();
  }
  builder.add(first.from, first.from, magicLine);
  // Options such as `--review` or `--engine fake:` on the magic line.
  const options = /\s(--?[\w-]+)/g;
  let m: RegExpExecArray | null;
  while ((m = options.exec(first.text)) !== null) {
    const start = first.from + m.index + 1;
    builder.add(start, start + m[1].length, optionMark);
  }
  let last = 1; // the last line decorated (visible ranges may share a line)
  for (const { from, to } of view.visibleRanges) {
    let pos = Math.max(from, first.to + 1);
    while (pos <= to && pos <= doc.length) {
      const line = doc.lineAt(pos);
      if (line.number > last) {
        builder.add(line.from, line.from, promptLine);
        last = line.number;
      }
      pos = line.to + 1;
    }
  }
  return builder.finish();
}

/** The view plugin that keeps the agent-cell decorations current. */
export const agentCellHighlighter = ViewPlugin.fromClass(
  class {
    decorations: DecorationSet;

    constructor(view: EditorView) {
      this.decorations = decorate(view);
    }

    update(update: ViewUpdate): void {
      if (update.docChanged || update.viewportChanged) {
        this.decorations = decorate(update.view);
      }
    }
  },
  { decorations: v => v.decorations }
);
