/**
 * nbagents-labext: highlighted `%%agent` cells, agent commands (palette, notebook toolbar and
 * context menu) and a status bar item with the kernel's engine.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  ISessionContextDialogs,
  ToolbarButton
} from '@jupyterlab/apputils';
import {
  EditorExtensionRegistry,
  IEditorExtensionRegistry
} from '@jupyterlab/codemirror';
import {
  INotebookTracker,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { DisposableDelegate } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';

import { CommandIDs, addCommands, isAgentCell } from './commands';
import { agentCellHighlighter } from './highlight';
import { KernelStatus, StatusWidget } from './status';

const PLUGIN_ID = 'nbagents-labext:plugin';
const CATEGORY = 'nbagents';

/** Whether the executed cell may have loaded nbagents (worth asking a kernel that lacked it). */
function mayLoadNbagents(source: string): boolean {
  return /nbagents|%agent/.test(source);
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Agent cells, commands and engine status for nbagents.',
  autoStart: true,
  requires: [INotebookTracker, IEditorExtensionRegistry],
  optional: [ICommandPalette, IStatusBar, ISessionContextDialogs],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    extensions: IEditorExtensionRegistry,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null,
    dialogs: ISessionContextDialogs | null
  ) => {
    extensions.addExtension({
      name: 'nbagents:agent-cells',
      factory: () => EditorExtensionRegistry.createImmutableExtension(agentCellHighlighter)
    });

    const hasNotebook = () =>
      tracker.currentWidget !== null && tracker.currentWidget === app.shell.currentWidget;
    addCommands(app.commands, tracker, hasNotebook, dialogs);

    for (const command of [CommandIDs.insert, CommandIDs.review, CommandIDs.inspect]) {
      palette?.addItem({ command, category: CATEGORY });
    }
    app.contextMenu.addItem({ type: 'separator', selector: '.jp-Notebook .jp-Cell', rank: 60 });
    app.contextMenu.addItem({ command: CommandIDs.insert, selector: '.jp-Notebook', rank: 61 });
    app.contextMenu.addItem({
      command: CommandIDs.review,
      selector: '.jp-Notebook .jp-CodeCell',
      rank: 62
    });
    app.contextMenu.addItem({
      command: CommandIDs.inspect,
      selector: '.jp-Notebook .jp-CodeCell',
      rank: 63
    });

    // Notebook toolbar: insert an agent cell, and run the active one in review mode.
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: NotebookPanel) => {
        const insert = new ToolbarButton({
          className: 'jp-nbagents-insert',
          label: '+ agent',
          tooltip: 'nbagents: Insert agent cell',
          onClick: () => void app.commands.execute(CommandIDs.insert)
        });
        const review = new ToolbarButton({
          className: 'jp-nbagents-review',
          label: 'review',
          tooltip: 'nbagents: Run agent cell in review mode',
          onClick: () => void app.commands.execute(CommandIDs.review)
        });
        if (!panel.toolbar.insertAfter('cellType', 'nbagents-insert', insert)) {
          panel.toolbar.addItem('nbagents-insert', insert);
        }
        panel.toolbar.insertAfter('nbagents-insert', 'nbagents-review', review);
        return new DisposableDelegate(() => {
          insert.dispose();
          review.dispose();
        });
      }
    });

    // One kernel status per notebook; the status bar shows the current notebook's.
    const statuses = new Map<NotebookPanel, KernelStatus>();
    const widget = new StatusWidget();
    const activeChanged = new Signal<object, void>(widget);
    const render = () => {
      const panel = tracker.currentWidget;
      const status = panel ? statuses.get(panel) : undefined;
      widget.setStatus(status?.state ?? 'unknown', status?.status ?? null);
      activeChanged.emit();
    };
    tracker.widgetAdded.connect((_, panel) => {
      const status = new KernelStatus(panel.sessionContext);
      statuses.set(panel, status);
      status.changed.connect(() => {
        if (tracker.currentWidget === panel) {
          render();
        }
      });
      panel.disposed.connect(() => {
        statuses.delete(panel);
        status.dispose();
      });
    });
    tracker.currentChanged.connect(render);
    NotebookActions.executed.connect((_, { notebook, cell }) => {
      const panel = notebook.parent;
      const status = panel instanceof NotebookPanel ? statuses.get(panel) : undefined;
      if (status) {
        const source = cell.model.sharedModel.getSource();
        status.refresh(mayLoadNbagents(source) || isAgentCell(cell));
      }
    });

    app.shell.currentChanged?.connect(render);
    statusBar?.registerStatusItem(PLUGIN_ID + ':status', {
      item: widget,
      align: 'left',
      rank: 5,
      isActive: () => hasNotebook() && widget.node.textContent !== '',
      activeStateChanged: activeChanged
    });
    render();
    console.debug('nbagents-labext activated');
  }
};

export default plugin;
