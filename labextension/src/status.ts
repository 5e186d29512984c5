/**
 * The status bar item: the kernel's active nbagents engine and whether its model is loaded.
 *
 * Each notebook gets a `KernelStatus` that talks to the kernel over the comm target `nbagents`
 * (registered by `%load_ext nbagents`, see nbagents/labcomm.py). The frontend opens the comm with
 * `{"request": "status"}`; the kernel answers, and pushes a new status after every run or engine
 * change. A kernel without nbagents closes the comm at once, which reads as "not loaded".
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

export const COMM_TARGET = 'nbagents';

/** What the kernel reports. */
export interface IAgentStatus {
  engine: string;
  model_id?: string;
  loaded: boolean;
}

/** `unknown`: not asked yet; `absent`: the kernel has no nbagents comm target. */
export type State = 'unknown' | 'absent' | 'ready';

/** Keeps one notebook's view of its kernel's nbagents status. */
export class KernelStatus {
  constructor(private sessionContext: ISessionContext) {
    sessionContext.kernelChanged.connect(this._reset, this);
    sessionContext.statusChanged.connect(this._onKernelStatus, this);
    this._onKernelStatus();
  }

  get state(): State {
    return this._state;
  }

  get status(): IAgentStatus | null {
    return this._status;
  }

  /** Emits whenever the state or the status changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * Ask the kernel for its status. `retry` opens the comm again where an earlier attempt found
   * no nbagents (say after `%load_ext nbagents`).
   */
  refresh(retry = false): void {
    const kernel = this.sessionContext.session?.kernel;
    if (!kernel || kernel.isDisposed) {
      return;
    }
    if (this._comm && !this._comm.isDisposed) {
      this._send(this._comm);
      return;
    }
    if (this._state === 'absent' && !retry) {
      return;
    }
    this._open(kernel);
  }

  dispose(): void {
    Signal.disconnectReceiver(this);
    this._closeComm();
  }

  private _open(kernel: Kernel.IKernelConnection): void {
    if (this._opening) {
      return;
    }
    let comm: Kernel.IComm;
    try {
      comm = kernel.createComm(COMM_TARGET);
    } catch (reason) {
      console.debug('nbagents: cannot open a comm', reason);
      return;
    }
    this._opening = true;
    this._comm = comm;
    comm.onMsg = (msg: KernelMessage.ICommMsgMsg) => {
      this._opening = false;
      this._setStatus(msg.content.data as unknown as IAgentStatus);
    };
    comm.onClose = () => {
      this._opening = false;
      if (this._comm === comm) {
        this._comm = null;
        this._set('absent', null);
      }
    };
    comm.open({ request: 'status' }).done.then(
      () => {
        this._opening = false;
      },
      () => {
        this._opening = false;
      }
    );
  }

  private _send(comm: Kernel.IComm): void {
    try {
      comm.send({ request: 'status' });
    } catch (reason) {
      console.debug('nbagents: status request failed', reason);
      this._comm = null;
    }
  }

  private _setStatus(data: IAgentStatus): void {
    if (data && typeof data.engine === 'string') {
      this._set('ready', data);
    }
  }

  private _set(state: State, status: IAgentStatus | null): void {
    this._state = state;
    this._status = status;
    this._changed.emit();
  }

  private _closeComm(): void {
    const comm = this._comm;
    this._comm = null;
    this._opening = false;
    if (comm && !comm.isDisposed) {
      try {
        comm.close();
      } catch {
        // The kernel is gone; nothing to close.
      }
    }
  }

  private _reset(): void {
    this._closeComm();
    this._set('unknown', null);
    this._onKernelStatus();
  }

  private _onKernelStatus(): void {
    const status = this.sessionContext.session?.kernel?.status;
    if (status === 'restarting' || status === 'autorestarting' || status === 'dead') {
      this._comm = null;
      this._opening = false;
      if (this._state !== 'unknown') {
        this._set('unknown', null);
      }
    } else if (status === 'idle' && this._state === 'unknown' && !this._comm) {
      this.refresh();
    }
  }

  private _state: State = 'unknown';
  private _status: IAgentStatus | null = null;
  private _comm: Kernel.IComm | null = null;
  private _opening = false;
  private _changed = new Signal<this, void>(this);
}

/** The text the status bar shows for a status. */
export function describe(state: State, status: IAgentStatus | null): string {
  if (state === 'absent') {
    return 'nbagents: not loaded';
  }
  if (state !== 'ready' || !status) {
    return '';
  }
  const model = status.loaded ? 'model loaded' : 'model not loaded';
  return `nbagents: ${status.engine} · ${model}`;
}

/** The status bar widget. */
export class StatusWidget extends Widget {
  constructor() {
    super();
    this.addClass('jp-nbagents-status');
    this.node.textContent = '';
  }

  setStatus(state: State, status: IAgentStatus | null): void {
    this.node.textContent = describe(state, status);
    this.node.dataset.state = state;
    this.node.dataset.loaded = status?.loaded ? 'true' : 'false';
    const model = status?.model_id ? `model: ${status.model_id}` : '';
    this.node.title =
      state === 'ready'
        ? `nbagents engine: ${status?.engine}${model ? '\n' + model : ''}`
        : state === 'absent'
          ? 'This kernel has not loaded nbagents (%load_ext nbagents)'
          : '';
  }
}
