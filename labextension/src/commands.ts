/**
 * The nbagents commands: insert an agent cell, run an agent cell in review mode, and open the
 * inspector of a cell's last run.
 */
import { ISessionContextDialogs } from '@jupyterlab/apputils';
import { Cell, CodeCell } from '@jupyterlab/cells';
import {
  INotebookTracker,
  Notebook,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import { CommandRegistry } from '@lumino/commands';

import { AGENT_MAGIC } from './highlight';

export namespace CommandIDs {
  export const insert = 'nbagents:insert-agent-cell';
  export const review = 'nbagents:run-review';
  export const inspect = 'nbagents:open-inspector';
}

/** The source of a new agent cell. */
export const NEW_AGENT_CELL = '%%agent\n';

/** Whether a cell is a `%%agent` / `%%agent_chat` code cell. */
export function isAgentCell(cell: Cell | null | undefined): cell is CodeCell {
  return (
    !!cell &&
    cell.model.type === 'code' &&
    AGENT_MAGIC.test(cell.model.sharedModel.getSource().split('\n', 1)[0])
  );
}

/** The source with `--review` added to its magic line (unchanged when present). */
export function withReview(source: string): string {
  const newline = source.indexOf('\n');
  const first = newline === -1 ? source : source.slice(0, newline);
  const rest = newline === -1 ? '' : source.slice(newline);
  if (/(^|\s)--review(\s|$)/.test(first)) {
    return source;
  }
  return `${first.trimEnd()} --review${rest}`;
}

/**
 * The id of the run a cell's outputs belong to: the magics put the run record in the output
 * metadata (`metadata.nbagents.id`). Null when the cell shows no such output.
 */
export function runIdOf(cell: Cell): string | null {
  if (cell.model.type !== 'code') {
    return null;
  }
  const outputs = (cell as CodeCell).model.outputs;
  for (let i = outputs.length - 1; i >= 0; i--) {
    const meta = outputs.get(i).metadata as Record<string, any> | undefined;
    const id = meta?.nbagents?.id ?? meta?.nbagents?.run_id;
    if (typeof id === 'string' && /^[\w-]+$/.test(id)) {
      return id;
    }
  }
  return null;
}

/** Insert a code cell below the active one holding `source`; return the notebook's new active cell. */
function insertCodeBelow(notebook: Notebook, source: string): Cell | null {
  NotebookActions.insertBelow(notebook);
  if (notebook.activeCell?.model.type !== 'code') {
    NotebookActions.changeCellType(notebook, 'code');
  }
  const cell = notebook.activeCell;
  cell?.model.sharedModel.setSource(source);
  return cell;
}

export function addCommands(
  commands: CommandRegistry,
  tracker: INotebookTracker,
  isEnabled: () => boolean,
  dialogs: ISessionContextDialogs | null
): void {
  const current = (): NotebookPanel | null => tracker.currentWidget;
  const activeAgentCell = () => isEnabled() && isAgentCell(tracker.activeCell);

  commands.addCommand(CommandIDs.insert, {
    label: 'nbagents: Insert agent cell',
    caption: 'Insert a %%agent cell below the active cell',
    isEnabled,
    execute: () => {
      const panel = current();
      if (!panel) {
        return;
      }
      const notebook = panel.content;
      const cell = insertCodeBelow(notebook, NEW_AGENT_CELL);
      if (!cell) {
        return;
      }
      const edit = () => {
        if (notebook.activeCell === cell && !cell.isDisposed) {
          notebook.mode = 'edit';
          cell.editor?.setCursorPosition({ line: 1, column: 0 });
          cell.editor?.focus();
        }
      };
      edit();
      // A modal command palette gives the focus back to where it was when it closes: take it
      // again once it has, so the task can be typed at once.
      requestAnimationFrame(edit);
    }
  });

  commands.addCommand(CommandIDs.review, {
    label: 'nbagents: Run agent cell in review mode',
    caption: 'Add --review to the %%agent line, then run the cell',
    isEnabled: activeAgentCell,
    execute: async () => {
      const panel = current();
      const cell = tracker.activeCell;
      if (!panel || !isAgentCell(cell)) {
        return;
      }
      const source = cell.model.sharedModel.getSource();
      const reviewed = withReview(source);
      if (reviewed !== source) {
        cell.model.sharedModel.setSource(reviewed);
      }
      return NotebookActions.run(panel.content, panel.sessionContext, dialogs ?? undefined);
    }
  });

  commands.addCommand(CommandIDs.inspect, {
    label: "nbagents: Open inspector of this cell's last run",
    caption: 'Run %agent inspect in a new cell below',
    isEnabled: activeAgentCell,
    execute: async () => {
      const panel = current();
      const cell = tracker.activeCell;
      if (!panel || !isAgentCell(cell)) {
        return;
      }
      const id = runIdOf(cell);
      const line = id ? `%agent inspect ${id}` : '%agent inspect';
      insertCodeBelow(panel.content, line);
      return NotebookActions.run(panel.content, panel.sessionContext, dialogs ?? undefined);
    }
  });
}
