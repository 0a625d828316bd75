"use components";
export function instantiate(getCoreModule, imports, instantiateCore = (module, importObject) => new WebAssembly.Instance(module, importObject)) {
  
  const emptyFunc = () => {};
  
  let dv = new DataView(new ArrayBuffer());
  const dataView = mem => dv.buffer === mem.buffer ? dv : dv = new DataView(mem.buffer);
  
  function toUint64(val) {
    const converted = BigInt(val)
    
    return BigInt.asUintN(64, converted);
  }
  
  
  function toUint16(val) {
    
    val >>>= 0;
    val %= 2 ** 16;
    return val;
  }
  
  
  function toUint32(val) {
    
    return val >>> 0;
  }
  
  
  function toUint8(val) {
    
    val >>>= 0;
    val %= 2 ** 8;
    return val;
  }
  
  
  function _isValidNumericPrimitive(ty, v) {
    if (v === undefined || v === null) { return false; }
    switch (ty) {
      case 'bool':
      return v === 0 || v === 1;
      break;
      case 'u8':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255;
      break;
      case 's8':
      return typeof v === 'number' && Number.isInteger(v) && v >= -128 && v <= 127;
      break;
      case 'u16':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535;
      break;
      case 's16':
      return typeof v === 'number' && Number.isInteger(v) && v >= -32768 && v <= 32767;
      case 'u32':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 4_294_967_295;
      case 's32':
      return typeof v === 'number' && Number.isInteger(v) && v >= -2_147_483_648 && v <= 2_147_483_647;
      case 'u64':
      return typeof v === 'bigint' && v >= 0 && v <= 18_446_744_073_709_551_615n;
      case 's64':
      return typeof v === 'bigint' && v >= -9223372036854775808n && v <= 9223372036854775807n;
      break;
      case 'f32':
      case 'f64': return typeof v === 'number';
      default:
      return false;
    }
    return true;
  }
  
  function _requireValidNumericPrimitive(ty, v) {
    if (v === undefined  || v === null || !_isValidNumericPrimitive(ty, v)) {
      throw new TypeError(`invalid ${ty} value [${v}]`);
    }
    return true;
  }
  const utf16Decoder = new TextDecoder('utf-16');
  const TEXT_DECODER_UTF8 = new TextDecoder();
  const TEXT_ENCODER_UTF8 = new TextEncoder();
  
  function _utf8AllocateAndEncode(s, realloc, memory) {
    if (typeof s !== 'string') {
      throw new TypeError('expected a string, received [' + typeof s + ']');
    }
    if (s.length === 0) { return { ptr: 1, len: 0 }; }
    // Compute the exact allocation size up front. Some older preview1
    // adapters only support an initial allocation, not a subsequent shrink.
    let len = 0;
    let codepoints = 0;
    for (let i = 0; i < s.length; i++) {
      const ch = s.charCodeAt(i);
      codepoints++;
      if (ch < 0x80) { len += 1; }
      else if (ch < 0x800) { len += 2; }
      else if (ch >= 0xd800 && ch <= 0xdbff &&
      i + 1 < s.length &&
      (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        len += 4;
        i++;
      } else { len += 3; }
    }
    const ptr = realloc(0, 0, 1, len);
    const { read, written } = TEXT_ENCODER_UTF8.encodeInto(
    s,
    new Uint8Array(memory.buffer, ptr, len),
    );
    if (read !== s.length || written !== len) {
      throw new Error('failed to encode whole string');
    }
    const res = { ptr, len, codepoints };
    return res;
  }
  
  const T_FLAG = 1 << 30;
  
  function rscTableCreateOwn(table, rep) {
    const free = table[0] & ~T_FLAG;
    table._createdReps.add(rep);
    if (free === 0) {
      table.push(0);
      table.push(rep | T_FLAG);
      return (table.length >> 1) - 1;
    }
    table[0] = table[free << 1];
    table[free << 1] = 0;
    table[(free << 1) + 1] = rep | T_FLAG;
    return free;
  }
  
  const RESOURCE_SCOPE_TASKS = new Map();
  const WebAssemblyRuntimeError = WebAssembly.RuntimeError;
  
  function rscTableRemove(table, handle) {
    const scope = table[handle << 1];
    const val = table[(handle << 1) + 1];
    const own = (val & T_FLAG) !== 0;
    const rep = val & ~T_FLAG;
    if (val === 0 || (scope & T_FLAG) !== 0) {
      // Resource entries occupy scope/rep pairs after the table sentinel.
      throw new WebAssemblyRuntimeError(`unknown handle index ${(handle << 1) + 1}`);
    }
    if (own && scope !== 0) {
      throw new WebAssemblyRuntimeError('cannot remove owned resource while borrowed');
    }
    const borrowTask = own ? undefined : RESOURCE_SCOPE_TASKS.get(scope);
    table[handle << 1] = table[0] | T_FLAG;
    table[0] = handle | T_FLAG;
    borrowTask?.removeBorrowedHandle();
    return { rep, scope, own };
  }
  
  let RESOURCE_SCOPE_ID = 0;
  const ASYNC_TASKS_BY_COMPONENT_IDX = new Map();
  const ASYNC_CURRENT_COMPONENT_IDXS = [];
  
  function getCurrentTask(componentIdx, taskID) {
    let usedGlobal = false;
    if (componentIdx === undefined || componentIdx === null) {
      throw new Error('missing component idx'); // TODO(fix)
      // componentIdx = ASYNC_CURRENT_COMPONENT_IDXS.at(-1);
      // usedGlobal = true;
    }
    
    const taskMetas = ASYNC_TASKS_BY_COMPONENT_IDX.get(componentIdx);
    if (taskMetas === undefined || taskMetas.length === 0) { return undefined; }
    
    if (taskID) {
      return taskMetas.find(meta => meta.task.id() === taskID);
    }
    
    const taskMeta = taskMetas[taskMetas.length - 1];
    if (!taskMeta || !taskMeta.task) { return undefined; }
    
    return taskMeta;
  }
  const ASYNC_CURRENT_TASK_IDS = [];
  
  const _debugLog = (...args) => {
    if (!globalThis?.process?.env?.JCO_DEBUG) { return; }
    console.debug(...args);
  };
  
  function clearCurrentTask(componentIdx, taskID) {
    _debugLog('[clearCurrentTask()] args', { componentIdx, taskID });
    
    if (componentIdx === undefined || componentIdx === null) {
      throw new Error('missing/invalid component instance index while ending current task');
    }
    
    const tasks = ASYNC_TASKS_BY_COMPONENT_IDX.get(componentIdx);
    if (!tasks || !Array.isArray(tasks)) {
      throw new Error('missing/invalid tasks for component instance while ending task');
    }
    if (tasks.length == 0) {
      throw new Error(`no current tasks for component instance [${componentIdx}] while ending task`);
    }
    
    if (taskID !== undefined) {
      const last = tasks[tasks.length - 1];
      if (last.id !== taskID) {
        // throw new Error('current task does not match expected task ID');
        return;
      }
    }
    
    ASYNC_CURRENT_TASK_IDS.pop();
    ASYNC_CURRENT_COMPONENT_IDXS.pop();
    
    const taskMeta = tasks.pop();
    return taskMeta.task;
  }
  const ASYNC_STATE = new Map();
  
  function promiseWithResolvers() {
    if (Promise.withResolvers) {
      return Promise.withResolvers();
    } else {
      let resolve;
      let reject;
      const promise = new Promise((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    }
  }
  
  class Waitable {
    #componentIdx;
    
    #pendingEventFn = null;
    
    #promise;
    #resolve;
    #reject;
    
    #waitableSet = null;
    
    #hasSyncWaiter = false;
    
    #idx = null; // to component-global waitables
    
    target;
    
    constructor(args) {
      const { componentIdx, target } = args;
      this.#componentIdx = componentIdx;
      this.target = args.target;
      this.#resetPromise();
    }
    
    componentIdx() { return this.#componentIdx; }
    isInSet() { return this.#waitableSet !== null; }
    
    idx() { return this.#idx; }
    setIdx(idx) {
      if (idx === 0) { throw new Error("waitable idx cannot be zero"); }
      this.#idx = idx;
    }
    
    setTarget(tgt) { this.target = tgt; }
    
    #resetPromise() {
      const { promise, resolve, reject } = promiseWithResolvers()
      this.#promise = promise;
      this.#resolve = resolve;
      this.#reject = reject;
    }
    
    resolve() { this.#resolve(); }
    reject(err) { this.#reject(err); }
    promise() { return this.#promise; }
    
    hasPendingEvent() {
      // _debugLog('[Waitable#hasPendingEvent()]', {
        //     componentIdx: this.#componentIdx,
        //     waitable: this,
        //     waitableSet: this.#waitableSet,
        //     hasPendingEvent: this.#pendingEventFn !== null,
        // });
        return this.#pendingEventFn !== null;
      }
      
      setPendingEvent(fn) {
        _debugLog('[Waitable#setPendingEvent()] args', {
          waitable: this,
          inSet: this.#waitableSet,
        });
        this.#pendingEventFn = fn;
      }
      
      getPendingEvent() {
        _debugLog('[Waitable#getPendingEvent()] args', {
          waitable: this,
          inSet: this.#waitableSet,
          hasPendingEvent: this.#pendingEventFn !== null,
        });
        if (this.#pendingEventFn === null) { return null; }
        const eventFn = this.#pendingEventFn;
        this.#pendingEventFn = null;
        const e = eventFn();
        this.#resetPromise();
        return e;
      }
      
      join(waitableSet) {
        _debugLog('[Waitable#join()] args', {
          waitable: this,
          waitableSet: waitableSet,
          isRemoval: waitableSet === null,
        });
        
        if (this.#waitableSet === undefined) {
          throw new TypeError('waitable set must be not be undefined');
        }
        
        if (this.#waitableSet) {
          this.#waitableSet.removeWaitable(this);
        }
        
        this.#waitableSet = waitableSet;
        
        if (waitableSet) {
          this.#waitableSet.addWaitable(this);
        }
      }
      
      drop() {
        _debugLog('[Waitable#drop()] args', {
          componentIdx: this.#componentIdx,
          waitable: this,
        });
        if (this.hasPendingEvent()) {
          throw new Error('waitables with pending events cannot be dropped');
        }
        this.join(null);
      }
      
      async waitForPendingEvent(args) {
        const { cstate } = args;
        if (!cstate) { throw new TypeError('missing component state'); }
        
        if (this.#waitableSet !== null || this.#hasSyncWaiter) {
          throw new Error("waitable is already in a set/has a sync waiter");
        }
        this.#hasSyncWaiter = true;
        await cstate.waitUntil({
          cancellable: false,
          readyFn: () => this.hasPendingEvent(),
        });
        this.#hasSyncWaiter = false;
      }
      
    }
    const INSTANCE_FLAGS = new Map();
    const STORE_TRAP = { error: null };
    const STORE_ASYNC_STATE = { deadlockCheck: null, pendingHostOperations: 0 };
    
    function _checkForDeadlock() {
      if (STORE_ASYNC_STATE.deadlockCheck !== null || STORE_TRAP.error !== null) { return; }
      STORE_ASYNC_STATE.deadlockCheck = setTimeout(() => {
        STORE_ASYNC_STATE.deadlockCheck = null;
        if (STORE_TRAP.error !== null || STORE_ASYNC_STATE.pendingHostOperations > 0) { return; }
        
        const suspendedTasks = new Set();
        for (const state of ASYNC_STATE.values()) {
          if (state.hasPendingSchedulerWork()) {
            state.runTickLoop();
            return;
          }
          for (const meta of state.suspendedTaskMetas()) {
            suspendedTasks.add(meta.task);
          }
        }
        
        const unresolvedRoots = new Set();
        for (const task of suspendedTasks) {
          const root = task.getRootTask();
          if (!root.isResolvedState()) { unresolvedRoots.add(root); }
        }
        if (unresolvedRoots.size === 0) { return; }
        
        const err = new WebAssemblyRuntimeError('wasm trap: deadlock detected: event loop cannot make further progress');
        // Which tasks were waiting, and on whose behalf. The message stays
        // exactly what the Canonical ABI calls for, so this rides alongside
        // it: a deadlock reported from a real program is otherwise a bare
        // sentence, and the state that produced it is gone by the time
        // anyone reads the failure.
        err.deadlockDetail = {
          pendingHostOperations: STORE_ASYNC_STATE.pendingHostOperations,
          suspendedTasks: [...suspendedTasks].map((task) => ({
            taskID: task.id(),
            componentIdx: task.componentIdx(),
            state: task.taskState(),
            rootTaskID: task.getRootTask().id(),
          })),
          unresolvedRootTaskIDs: [...unresolvedRoots].map((root) => root.id()),
        };
        STORE_TRAP.error = err;
        for (const root of unresolvedRoots) {
          root.setErrored(err);
          root.reject(err);
        }
        for (const task of suspendedTasks) {
          if (!task.isResolvedState() && unresolvedRoots.has(task.getRootTask())) {
            task.setErrored(err);
            task.reject(err);
          }
        }
        for (const state of ASYNC_STATE.values()) { state.runTickLoop(); }
      }, 0);
    }
    
    const CORE_TRAP_MESSAGES = new Map([
    ['unreachable', "wasm trap: wasm `unreachable` instruction executed"],
    ['memory access out of bounds', "wasm trap: out of bounds memory access"],
    ['divide by zero', "wasm trap: integer divide by zero"],
    ['remainder by zero', "wasm trap: integer divide by zero"],
    ['divide result unrepresentable', "wasm trap: integer overflow"],
    ['float unrepresentable in integer range', "wasm trap: invalid conversion to integer"],
    ['table index is out of bounds', "wasm trap: undefined element: out of bounds table access"],
    ['function signature mismatch', "wasm trap: indirect call type mismatch"],
    ['call stack exhausted', "wasm trap: call stack exhausted"],
    ]);
    function _normalizeCoreTrap(err) {
      if (!(err instanceof WebAssemblyRuntimeError)) { return err; }
      const message = CORE_TRAP_MESSAGES.get(err.message);
      if (message !== undefined) { err.message = message; }
      return err;
    }
    
    class RepTable {
      // Sentinel marking a freed slot; the freelist link for a freed slot
      // lives in the odd cell. This keeps get()/contains()/remove() on freed
      // reps well-defined (previously they returned/corrupted freelist links).
      static FREE = Symbol('RepTable.free');
      
      #data = [0, null];
      #size = 0;
      #target;
      
      constructor(args) {
        this.target = args?.target;
      }
      
      data() { return this.#data; }
      
      insert(val) {
        _debugLog('[RepTable#insert()] args', { val, target: this.target });
        const freeIdx = this.#data[0];
        if (freeIdx === 0) {
          this.#data.push(val);
          this.#data.push(null);
          const rep = (this.#data.length >> 1) - 1;
          _debugLog('[RepTable#insert()] inserted', { val, target: this.target, rep });
          this.#size += 1;
          return rep;
        }
        const placementIdx = freeIdx << 1;
        if (this.#data[placementIdx] !== RepTable.FREE) {
          throw new Error('corrupt rep table freelist: head does not point at a freed slot');
        }
        this.#data[0] = this.#data[placementIdx + 1];
        this.#data[placementIdx] = val;
        this.#data[placementIdx + 1] = null;
        _debugLog('[RepTable#insert()] inserted', { val, target: this.target, rep: freeIdx });
        this.#size += 1;
        return freeIdx;
      }
      
      get(rep) {
        _debugLog('[RepTable#get()] args', { rep, target: this.target });
        if (rep === 0) { throw new Error('invalid resource rep during get, (cannot be 0)'); }
        
        const baseIdx = rep << 1;
        const val = this.#data[baseIdx];
        if (val === RepTable.FREE) { return undefined; }
        return val;
      }
      
      contains(rep) {
        _debugLog('[RepTable#contains()] args', { rep, target: this.target });
        if (rep === 0) { throw new Error('invalid resource rep during contains, (cannot be 0)'); }
        
        const baseIdx = rep << 1;
        const val = this.#data[baseIdx];
        return val !== RepTable.FREE && !!val;
      }
      
      remove(rep) {
        _debugLog('[RepTable#remove()] args', { rep, target: this.target });
        if (rep === 0) { throw new Error('invalid resource rep during remove, (cannot be 0)'); }
        if (this.#data.length === 2) { throw new Error('invalid'); }
        
        const baseIdx = rep << 1;
        if (baseIdx >= this.#data.length) {
          throw new Error(`invalid rep [${rep}] during remove, out of range`);
        }
        const val = this.#data[baseIdx];
        if (val === RepTable.FREE) {
          throw new Error(`double removal of rep [${rep}] (already freed)`);
        }
        
        this.#data[baseIdx] = RepTable.FREE;
        this.#data[baseIdx + 1] = this.#data[0];
        this.#data[0] = rep;
        this.#size -= 1;
        
        return val;
      }
      
      size() { return this.#size; }
      
      clear() {
        _debugLog('[RepTable#clear()] args', { rep, target: this.target });
        this.#data = [0, null];
      }
    }
    
    class ComponentAsyncState {
      static EVENT_HANDLER_EVENTS = [ 'backpressure-change' ];
      
      static TickResult = {
        // no suspended tasks remain
        DONE: 'done',
        // a suspended task was resumed (more may be ready)
        RESUMED: 'resumed',
        // suspended tasks remain but none were ready
        IDLE: 'idle',
      };
      
      #componentIdx;
      #callingAsyncImport = false;
      #syncImportWait = promiseWithResolvers();
      #lockHolderTaskID = null;
      #lockWaiters = [];
      #lockHandoffScheduled = false;
      #pendingTaskStarts = 0;
      #parkedTasks = new Map();
      #suspendedTasksByTaskID = new Map();
      #suspendedTaskIDs = [];
      #errored = null;
      #trapped = false;
      #backpressure = 0;
      #backpressureWaiters = 0n;
      
      #handlerMap = new Map();
      #nextHandlerID = 0n;
      
      #tickLoop = null;
      #tickLoopInterval = null;
      
      #onExclusiveReleaseHandlers = [];
      
      #mayLeave = true;
      
      handles;
      subtasks;
      
      constructor(args) {
        this.#componentIdx = args.componentIdx;
        this.handles = new RepTable({ target: `component [${this.#componentIdx}] handles (waitable objects)` });
        this.subtasks = new RepTable({ target: `component [${this.#componentIdx}] subtasks` });
      };
      
      componentIdx() { return this.#componentIdx; }
      
      get mayLeave() {
        const flags = INSTANCE_FLAGS.get(this.#componentIdx);
        return flags === undefined ? this.#mayLeave : flags.value === 1;
      }
      set mayLeave(value) {
        if (typeof value !== 'boolean') { throw new TypeError('mayLeave must be a boolean'); }
        this.#mayLeave = value;
        const flags = INSTANCE_FLAGS.get(this.#componentIdx);
        if (flags !== undefined) { flags.value = value ? 1 : 0; }
      }
      
      errored() { return this.#errored !== null; }
      setErrored(err) {
        _debugLog('[ComponentAsyncState#setErrored()] component errored', { err, componentIdx: this.#componentIdx });
        if (this.#errored) { return; }
        if (!err) {
          err = new Error('error elswehere (see other component instance error)')
          err.componentIdx = this.#componentIdx;
        }
        this.#errored = err;
      }
      
      markTrapped(err) {
        if (!(err instanceof WebAssemblyRuntimeError)) {
          return false;
        }
        err = _normalizeCoreTrap(err);
        this.#trapped = true;
        _debugLog('[ComponentAsyncState#markTrapped()] component trapped', { err, componentIdx: this.#componentIdx });
        if (STORE_TRAP.error === null) { STORE_TRAP.error = err; }
        return true;
      }
      
      throwIfTrapped() {
        if (this.#trapped) {
          throw new WebAssemblyRuntimeError("wasm trap: cannot enter component instance");
        }
      }
      
      callingSyncImport(val) {
        if (val === undefined) { return this.#callingAsyncImport; }
        if (typeof val !== 'boolean') { throw new TypeError('invalid setting for async import'); }
        const prev = this.#callingAsyncImport;
        this.#callingAsyncImport = val;
        if (prev === true && this.#callingAsyncImport === false) {
          this.#notifySyncImportEnd();
        }
      }
      
      #notifySyncImportEnd() {
        const existing = this.#syncImportWait;
        this.#syncImportWait = promiseWithResolvers();
        existing.resolve();
      }
      
      async waitForSyncImportCallEnd() {
        await this.#syncImportWait.promise;
      }
      
      setBackpressure(v) {
        this.#backpressure = v;
        return this.#backpressure
      }
      getBackpressure() { return this.#backpressure; }
      
      incrementBackpressure() {
        const current = this.#backpressure;
        if (current < 0 || current > 2**16) {
          throw new Error(`invalid current backpressure value [${current}]`);
        }
        const newValue = this.getBackpressure() + 1;
        if (newValue >= 2**16) {
          throw new Error(`invalid new backpressure value [${newValue}], overflow`);
        }
        return this.setBackpressure(newValue);
      }
      
      decrementBackpressure() {
        const current = this.#backpressure;
        if (current < 0 || current > 2**16) {
          throw new Error(`invalid current backpressure value [${current}]`);
        }
        const newValue = Math.max(0, current - 1);
        if (newValue < 0) {
          throw new Error(`invalid new backpressure value [${newValue}], underflow`);
        }
        return this.setBackpressure(newValue);
      }
      hasBackpressure() { return this.#backpressure > 0; }
      
      waitForBackpressure() {
        let backpressureCleared = false;
        const cstate = this;
        cstate.addBackpressureWaiter();
        const handlerID = this.registerHandler({
          event: 'backpressure-change',
          fn: (bp) => {
            if (bp === 0) {
              cstate.removeHandler(handlerID);
              backpressureCleared = true;
            }
          }
        });
        return new Promise((resolve) => {
          const interval = setInterval(() => {
            if (backpressureCleared) { return; }
            clearInterval(interval);
            cstate.removeBackpressureWaiter();
            resolve(null);
          }, 0);
        });
      }
      
      registerHandler(args) {
        const { event, fn } = args;
        if (!event) { throw new Error("missing handler event"); }
        if (!fn) { throw new Error("missing handler fn"); }
        
        if (!ComponentAsyncState.EVENT_HANDLER_EVENTS.includes(event)) {
          throw new Error(`unrecognized event handler [${event}]`);
        }
        
        const handlerID = this.#nextHandlerID++;
        let handlers = this.#handlerMap.get(event);
        if (!handlers) {
          handlers = [];
          this.#handlerMap.set(event, handlers)
        }
        
        handlers.push({ id: handlerID, fn, event });
        return handlerID;
      }
      
      removeHandler(args) {
        const { event, handlerID } = args;
        const registeredHandlers = this.#handlerMap.get(event);
        if (!registeredHandlers) { return; }
        const found = registeredHandlers.find(h => h.id === handlerID);
        if (!found) { return; }
        this.#handlerMap.set(event, this.#handlerMap.get(event).filter(h => h.id !== handlerID));
      }
      
      getBackpressureWaiters() { return this.#backpressureWaiters; }
      addBackpressureWaiter() { this.#backpressureWaiters++; }
      removeBackpressureWaiter() {
        this.#backpressureWaiters--;
        if (this.#backpressureWaiters < 0) {
          throw new Error("unexepctedly negative number of backpressure waiters");
        }
      }
      
      // The per-slice mutual-exclusion lock for guest execution in this
      // component instance. Guest slices (callback invocations and
      // sync-lifted bodies) must be atomic per component even across the
      // JSPI suspensions jco introduces for host imports: wit-bindgen's
      // executors publish per-task state in single linear-memory cells
      // (the wasip3-task pointer, context-local storage discipline) that
      // an interleaved slice of the same component corrupts
      //
      // The lock is *owned*: acquisition records the holder task and
      // release is a no-op for anyone else, so a task exiting can no
      // longer drop a hold it does not own (blind acquire/release-any
      // was the previous discipline). Contended acquisition queues
      // FIFO; release hands the lock to the next waiter directly.
      isExclusivelyLocked() { return this.#lockHolderTaskID !== null; }
      exclusivelyLockedBy(taskID) { return this.#lockHolderTaskID === taskID; }
      
      exclusiveLock(taskID) {
        _debugLog('[ComponentAsyncState#exclusiveLock()]', {
          holder: this.#lockHolderTaskID,
          requester: taskID,
          componentIdx: this.#componentIdx,
        });
        if (taskID === undefined || taskID === null) {
          throw new Error('exclusive lock requires the acquiring task id');
        }
        if (this.#lockHolderTaskID !== null) {
          throw new Error(`component [${this.#componentIdx}] exclusive lock held by task [${this.#lockHolderTaskID}], requested by [${taskID}]`);
        }
        this.#lockHolderTaskID = taskID;
      }
      
      // Awaitable acquisition: takes the lock immediately when free,
      // otherwise queues FIFO behind the current holder and earlier
      // waiters. The resolved promise implies ownership.
      acquireExclusiveLock(taskID) {
        if (taskID === undefined || taskID === null) {
          throw new Error('exclusive lock requires the acquiring task id');
        }
        if (this.#lockHolderTaskID === null) {
          this.#lockHolderTaskID = taskID;
          _debugLog('[ComponentAsyncState#acquireExclusiveLock()] acquired', {
            holder: taskID,
            componentIdx: this.#componentIdx,
          });
          return;
        }
        if (this.#lockHolderTaskID === taskID) {
          throw new Error(`task [${taskID}] already holds the lock for component [${this.#componentIdx}]`);
        }
        _debugLog('[ComponentAsyncState#acquireExclusiveLock()] waiting', {
          holder: this.#lockHolderTaskID,
          requester: taskID,
          componentIdx: this.#componentIdx,
          queued: this.#lockWaiters.length,
        });
        return new Promise((resolve) => {
          this.#lockWaiters.push({ taskID, resolve });
        });
      }
      
      exclusiveRelease(taskID) {
        _debugLog('[ComponentAsyncState#exclusiveRelease()] args', {
          holder: this.#lockHolderTaskID,
          releaser: taskID,
          componentIdx: this.#componentIdx,
        });
        if (this.#lockHolderTaskID !== taskID) {
          // Ownerless releases were the historical behavior; a foreign
          // release now leaves the hold intact
          _debugLog('[ComponentAsyncState#exclusiveRelease()] ignoring foreign release', {
            holder: this.#lockHolderTaskID,
            releaser: taskID,
            componentIdx: this.#componentIdx,
          });
          return false;
        }
        
        // Make the release observable before handing the lock to the next
        // asynchronous guest slice.
        //
        // Release handlers may expose a lifted value whose consumer immediately
        // performs a synchronous call on the same component; that call must run
        // while the instance is genuinely unlocked, not via enterSync's
        // lock-free fallback code.
        this.#lockHolderTaskID = null;
        
        this.#onExclusiveReleaseHandlers = this.#onExclusiveReleaseHandlers.filter(v => !!v);
        for (const [idx, f] of this.#onExclusiveReleaseHandlers.entries()) {
          try {
            this.#onExclusiveReleaseHandlers[idx] = null;
            f();
          } catch (err) {
            _debugLog("error while executing handler for next exclusive release", err);
            throw err;
          }
        }
        this.#scheduleLockHandoff();
        return true;
      }
      
      #scheduleLockHandoff() {
        if (this.#lockHandoffScheduled || this.#lockWaiters.length === 0) { return; }
        this.#lockHandoffScheduled = true;
        queueMicrotask(() => {
          this.#lockHandoffScheduled = false;
          // A synchronous call triggered by a release handler gets the
          // first opportunity to use the unlocked component.
          //
          // Its release will leave this queued handoff in place.
          if (this.#lockHolderTaskID !== null) {
            this.#scheduleLockHandoff();
            return;
          }
          const next = this.#lockWaiters.shift();
          if (!next) { return; }
          this.#lockHolderTaskID = next.taskID;
          next.resolve();
        });
      }
      
      onNextExclusiveRelease(fn) {
        _debugLog('[ComponentAsyncState#()onNextExclusiveRelease] registering');
        this.#onExclusiveReleaseHandlers.push(fn);
      }
      
      async waitForExclusiveRelease() {
        while (this.isExclusivelyLocked()) {
          await new Promise(resolve => this.onNextExclusiveRelease(resolve));
        }
      }
      
      #getSuspendedTaskMeta(taskID) {
        return this.#suspendedTasksByTaskID.get(taskID);
      }
      
      #removeSuspendedTaskMeta(taskID) {
        _debugLog('[ComponentAsyncState#removeSuspendedTaskMeta()] removing suspended task', {
          taskID,
          componentIdx: this.#componentIdx,
        });
        const idx = this.#suspendedTaskIDs.findIndex(t => t === taskID);
        const meta = this.#suspendedTasksByTaskID.get(taskID);
        this.#suspendedTaskIDs[idx] = null;
        this.#suspendedTasksByTaskID.delete(taskID);
        return meta;
      }
      
      #addSuspendedTaskMeta(meta) {
        if (!meta) { throw new Error('missing task meta'); }
        const taskID = meta.taskID;
        this.#suspendedTasksByTaskID.set(taskID, meta);
        this.#suspendedTaskIDs.push(taskID);
        if (this.#suspendedTasksByTaskID.size < this.#suspendedTaskIDs.length - 10) {
          this.#suspendedTaskIDs = this.#suspendedTaskIDs.filter(t => t !== null);
        }
      }
      
      // TODO(threads): readyFn is normally on the thread
      suspendTask(args) {
        const { task, readyFn, cancellable, onResume } = args;
        const taskID = task.id();
        const componentIdx = task.componentIdx();
        _debugLog('[ComponentAsyncState#suspendTask()]', {
          taskID,
          componentIdx: this.#componentIdx,
          taskEntryFnName: task.entryFnName(),
          subtask: task.getParentSubtask(),
        });
        
        if (componentIdx !== this.#componentIdx) {
          throw new Error('assert: task component idx should match async state');
        }
        
        if (this.#getSuspendedTaskMeta(taskID)) {
          throw new Error(`task [${taskID}] already suspended`);
        }
        
        let promise;
        let resume;
        if (onResume) {
          resume = () => onResume(!task.isCancelled());
        } else {
          const resolvers = promiseWithResolvers();
          promise = resolvers.promise;
          resume = () => resolvers.resolve(!task.isCancelled());
        }
        this.#addSuspendedTaskMeta({
          task,
          taskID,
          cancellable,
          readyFn,
          resume: () => {
            _debugLog('[ComponentAsyncState] resuming suspended task', {
              taskID,
              componentIdx: this.#componentIdx,
            });
            // TODO(threads): it's thread cancellation we should be checking for below, not task
            resume();
          },
        });
        
        // A caller synchronously driving one task quantum (for
        // example, subtask.cancel) waits for the resumed task to
        // either resolve or suspend again.
        task.notifyProgress();
        
        this.runTickLoop();
        _checkForDeadlock();
        
        return promise;
      }
      
      resumeTaskByID(taskID) {
        const meta = this.#removeSuspendedTaskMeta(taskID);
        if (!meta) { return false; }
        if (meta.taskID !== taskID) { throw new Error('task ID does not match'); }
        meta.resume();
        return true;
      }
      
      suspendedTaskReady(taskID) {
        const meta = this.#getSuspendedTaskMeta(taskID);
        if (!meta) { return false; }
        if (!meta.readyFn) {
          throw new Error(`suspended task [${taskID}] is missing a readiness function`);
        }
        return meta.task.isRejected() || meta.readyFn();
      }
      
      suspendedTaskCancellable(taskID) {
        return !!this.#getSuspendedTaskMeta(taskID)?.cancellable;
      }
      
      isTaskSuspended(taskID) {
        return this.#suspendedTasksByTaskID.has(taskID);
      }
      
      suspendedTaskMetas() {
        return this.#suspendedTasksByTaskID.values();
      }
      
      addPendingTaskStart() { this.#pendingTaskStarts++; }
      removePendingTaskStart() { this.#pendingTaskStarts--; }
      
      hasPendingSchedulerWork() {
        if (this.#pendingTaskStarts > 0) { return true; }
        if (this.#lockHandoffScheduled) { return true; }
        for (const meta of this.#suspendedTasksByTaskID.values()) {
          if (meta.task.isRejected() || meta.readyFn()) { return true; }
        }
        return false;
      }
      
      async runTickLoop() {
        if (this.#tickLoop !== null) { return; }
        this.#tickLoop = 1;
        setTimeout(async () => {
          let result = this.tick();
          while (result !== ComponentAsyncState.TickResult.DONE) {
            if (result === ComponentAsyncState.TickResult.IDLE) {
              _checkForDeadlock();
            }
            // After resuming a task, re-tick as soon as the resumed
            // slice's microtask continuations have drained (timeout 0)
            // so queued sibling resumptions aren't charged the idle
            // polling interval; otherwise poll at the idle cadence.
            const delay = result === ComponentAsyncState.TickResult.RESUMED ? 0 : 10;
            await new Promise((resolve) => setTimeout(resolve, delay));
            result = this.tick();
          }
          this.#tickLoop = null;
        }, 10);
      }
      
      tick() {
        // _debugLog('[ComponentAsyncState#tick()]', { suspendedTaskIDs: this.#suspendedTaskIDs });
        
        const resumableTasks = this.#suspendedTaskIDs.filter(t => t !== null);
        for (const taskID of resumableTasks) {
          const meta = this.#suspendedTasksByTaskID.get(taskID);
          if (!meta || !meta.readyFn) {
            throw new Error(`missing/invalid task despite ID [${taskID}] being present`);
          }
          
          // If the task failed via any means, allow the task to resume because
          // it's been cancelled -- the callback should immediately exit as well
          if (meta.task.isRejected()) {
            _debugLog('[ComponentAsyncState#tick()] detected task rejection, leaving early', { meta });
            this.resumeTaskByID(taskID);
            return ComponentAsyncState.TickResult.RESUMED;
          }
          
          const isReady = meta.readyFn();
          if (!isReady) { continue; }
          
          _debugLog('[ComponentAsyncState#tick()] resuming task via tick', {
            taskID,
            componentIdx: this.#componentIdx,
          });
          this.resumeTaskByID(taskID);
          
          // NOTE: during single-flight resumption, we should resume at most one task per
          // tick so that the resumed slice (a microtask continuation)
          // runs -- and its current-task register window opens and
          // closes -- before any sibling task of this component is
          // resumed.
          //
          // Resuming multiple suspended tasks in one synchronous
          // cascade interleaves their register save/restore windows
          // ([restoreA, restoreB, resumeA, resumeB]), re-entering wasm
          // with the register naming the wrong task, and the
          // 'known residual' of the JSPI current-task register
          // fix); with concurrent task lifetimes per component this
          // corrupts guest context-local storage.
          return ComponentAsyncState.TickResult.RESUMED;
        }
        
        const idle = this.#suspendedTaskIDs.filter(t => t !== null).length > 0;
        return idle
        ? ComponentAsyncState.TickResult.IDLE
        : ComponentAsyncState.TickResult.DONE;
      }
      
      createWaitable(args) {
        return new Waitable({ target: args?.target, });
      }
    }
    
    function getOrCreateAsyncState(componentIdx, init) {
      if (!ASYNC_STATE.has(componentIdx)) {
        const newState = new ComponentAsyncState({ componentIdx });
        ASYNC_STATE.set(componentIdx, newState);
      }
      return ASYNC_STATE.get(componentIdx);
    }
    const GLOBAL_COMPONENT_MEMORY_MAP = new Map();
    
    function lookupMemoriesForComponent(args) {
      const { componentIdx } = args ?? {};
      if (args.componentIdx === undefined) { throw new TypeError("missing component idx"); }
      
      const metas = GLOBAL_COMPONENT_MEMORY_MAP.get(componentIdx);
      if (!metas) { return []; }
      
      if (args.memoryIdx === undefined) {
        return Object.values(metas);
      }
      
      const meta = metas[args.memoryIdx];
      return meta?.memory;
    }
    
    class AsyncSubtask {
      static _ID = 0n;
      
      static State = {
        STARTING: 0,
        STARTED: 1,
        RETURNED: 2,
        CANCELLED_BEFORE_STARTED: 3,
        CANCELLED_BEFORE_RETURNED: 4,
      };
      
      #id;
      #state = AsyncSubtask.State.STARTING;
      #componentIdx;
      
      #parentTask;
      #childTask = null;
      
      #dropped = false;
      #cancelRequested = false;
      
      #memoryIdx = null;
      #lenders = null;
      
      #waitable = null;
      
      #callbackFn = null;
      #callbackFnName = null;
      
      #postReturnFn = null;
      #onProgressFn = null;
      #pendingEventFn = null;
      
      #callMetadata = {};
      
      #resolved = false;
      
      #onResolveHandlers = [];
      #onStartHandlers = [];
      
      #result = null;
      #resultSet = false;
      
      fnName;
      target;
      isAsync;
      isManualAsync;
      // One execution slice awaited by the conditional cancel trampoline.
      cancelProgress = null;
      
      constructor(args) {
        if (typeof args.componentIdx !== 'number') {
          throw new Error('invalid componentIdx for subtask creation');
        }
        this.#componentIdx = args.componentIdx;
        
        this.#id = ++AsyncSubtask._ID;
        this.fnName = args.fnName;
        
        if (!args.parentTask) { throw new Error('missing parent task during subtask creation'); }
        this.#parentTask = args.parentTask;
        
        if (args.childTask) { this.#childTask = args.childTask; }
        
        if (args.memoryIdx) { this.#memoryIdx = args.memoryIdx; }
        
        if (!args.waitable) { throw new Error("missing/invalid waitable"); }
        this.#waitable = args.waitable;
        
        if (args.callMetadata) { this.#callMetadata = args.callMetadata; }
        
        this.#lenders = [];
        this.target = args.target;
        this.isAsync = args.isAsync;
        this.isManualAsync = args.isManualAsync;
      }
      
      id() { return this.#id; }
      parentTaskID() { return this.#parentTask?.id(); }
      childTaskID() { return this.#childTask?.id(); }
      state() { return this.#state; }
      
      waitable() { return this.#waitable; }
      waitableRep() { return this.#waitable.idx(); }
      
      join() { return this.#waitable.join(...arguments); }
      getPendingEvent() { return this.#waitable.getPendingEvent(...arguments); }
      hasPendingEvent() { return this.#waitable.hasPendingEvent(...arguments); }
      setPendingEvent() { return this.#waitable.setPendingEvent(...arguments); }
      
      setTarget(tgt) { this.target = tgt; }
      
      getResult() {
        if (!this.#resultSet) { throw new Error("subtask result has not been set") }
        return this.#result;
      }
      setResult(v) {
        if (this.#resultSet) { throw new Error("subtask result has already been set"); }
        this.#result = v;
        this.#resultSet = true;
      }
      
      componentIdx() { return this.#componentIdx; }
      
      setChildTask(t) {
        if (!t) { throw new Error('cannot set missing/invalid child task on subtask'); }
        if (this.#childTask) { throw new Error('child task is already set on subtask'); }
        if (this.#parentTask === t) { throw new Error("parent cannot be child"); }
        this.#childTask = t;
      }
      getChildTask(t) { return this.#childTask; }
      
      getParentTask() { return this.#parentTask; }
      
      setCallbackFn(f, name) {
        if (!f) { return; }
        if (this.#callbackFn) { throw new Error('callback fn can only be set once'); }
        this.#callbackFn = f;
        this.#callbackFnName = name;
      }
      
      getCallbackFnName() {
        if (!this.#callbackFn) { return undefined; }
        return this.#callbackFn.name;
      }
      
      setPostReturnFn(f) {
        if (!f) { return; }
        if (this.#postReturnFn) { throw new Error('postReturn fn can only be set once'); }
        this.#postReturnFn = f;
      }
      
      setOnProgressFn(f) {
        if (this.#onProgressFn) { throw new Error('on progress fn can only be set once'); }
        this.#onProgressFn = f;
      }
      
      isNotStarted() {
        return this.#state == AsyncSubtask.State.STARTING;
      }
      
      cancellationRequested() { return this.#cancelRequested; }
      
      // Request cooperative cancellation of this subtask, on behalf of the
      // supertask (i.e. `canon subtask.cancel`).
      //
      // If the callee is another guest task, the request is delivered to it and
      // the callee confirms via `task.cancel` (or still resolves via `task.return`).
      //
      // If the callee is a host function there is (currently) no host-side
      // cancellation hook, so the pending call is treated as immediately
      // cancelled -- consistent with hosts being expected to resolve
      // cancellation promptly -- and any later host resolution is discarded
      // (see `AsyncTask#onResolve`).
      requestCancellation() {
        _debugLog('[AsyncSubtask#requestCancellation()] args', {
          componentIdx: this.#componentIdx,
          subtaskID: this.#id,
          state: this.#state,
          childTaskID: this.childTaskID(),
          fnName: this.fnName,
        });
        if (this.#cancelRequested) {
          throw new Error('cancellation has already been requested for this subtask');
        }
        this.#cancelRequested = true;
        
        if (this.#resolved) { return; }
        
        if (this.#childTask) {
          this.#childTask.requestCancellation();
          return;
        }
        
        this.onResolve(null);
      }
      
      registerOnStartHandler(f) {
        this.#onStartHandlers.push(f);
      }
      
      onStart(args) {
        _debugLog('[AsyncSubtask#onStart()] args', {
          componentIdx: this.#componentIdx,
          subtaskID: this.#id,
          parentTaskID: this.parentTaskID(),
          fnName: this.fnName,
          args,
        });
        
        if (this.#onProgressFn) { this.#onProgressFn(); }
        
        // Starting a nested operation is a task execution boundary.
        // In particular, a cancellation handler may synchronously
        // enter an import which then suspends in the host.  Wake a
        // supertask that is driving one cancellation slice so an
        // async `subtask.cancel` can report BLOCKED without waiting
        // for that nested operation to finish.
        this.#parentTask.notifyProgress();
        
        this.#state = AsyncSubtask.State.STARTED;
        
        let result;
        
        // If we have been provided a helper start function as a result of
        // component fusion performed by wasmtime tooling, then we can call that helper and lifts/lowers will
        // be performed for us.
        //
        // See also documentation on `HostIntrinsic::PrepareCall`
        //
        if (this.#callMetadata.startFn) {
          result = this.#callMetadata.startFn.apply(null, args?.startFnParams ?? []);
        }
        
        return result;
      }
      
      
      registerOnResolveHandler(f) {
        this.#onResolveHandlers.push(f);
      }
      
      reject(subtaskErr) {
        if (this.#resolved) { return; }
        
        if (this.#onProgressFn) { this.#onProgressFn(); }
        
        if (this.#state === AsyncSubtask.State.STARTING) {
          this.#state = AsyncSubtask.State.CANCELLED_BEFORE_STARTED;
        } else if (this.#state === AsyncSubtask.State.STARTED) {
          this.#state = AsyncSubtask.State.CANCELLED_BEFORE_RETURNED;
        } else {
          throw new Error('cannot reject a completed subtask');
        }
        
        this.#resolved = true;
        this.#parentTask.removeSubtask(this);
        this.#parentTask.reject(subtaskErr);
      }
      
      onResolve(subtaskValue) {
        _debugLog('[AsyncSubtask#onResolve()] args', {
          componentIdx: this.#componentIdx,
          subtaskID: this.#id,
          isAsync: this.isAsync,
          childTaskID: this.childTaskID(),
          parentTaskID: this.parentTaskID(),
          parentTaskFnName: this.#parentTask?.entryFnName(),
          fnName: this.fnName,
        });
        
        if (this.#resolved) {
          throw new Error('subtask has already been resolved');
        }
        
        if (this.#onProgressFn) { this.#onProgressFn(); }
        
        if (subtaskValue === null && this.#cancelRequested) {
          if (this.#state === AsyncSubtask.State.STARTING) {
            this.#state = AsyncSubtask.State.CANCELLED_BEFORE_STARTED;
          } else {
            if (this.#state !== AsyncSubtask.State.STARTED) {
              throw new Error('resolved subtask must have been started before cancellation');
            }
            this.#state = AsyncSubtask.State.CANCELLED_BEFORE_RETURNED;
          }
        } else {
          if (this.#state !== AsyncSubtask.State.STARTED) {
            throw new Error('resolved subtask must have been started before completion');
          }
          this.#state = AsyncSubtask.State.RETURNED;
        }
        
        this.setResult(subtaskValue);
        
        for (const f of this.#onResolveHandlers) {
          try {
            f(subtaskValue);
          } catch (err) {
            console.error("error during subtask resolve handler", err);
            throw err;
          }
        }
        
        const callMetadata = this.getCallMetadata();
        
        // TODO(fix): we should be able to easily have the caller's meomry
        // to lower into here, but it's not present in PrepareCall
        const memory = callMetadata.memory ?? this.#parentTask?.getReturnMemory() ?? lookupMemoriesForComponent({ componentIdx: this.#parentTask?.componentIdx() })[0];
        // NOTE: cancelled resolutions carry no value, so nothing is lowered
        const returned = this.#state === AsyncSubtask.State.RETURNED;
        if (returned && callMetadata && !callMetadata.returnFn && (this.isAsync || callMetadata.funcTypeIsAsync) && callMetadata.resultPtr && memory) {
          const { resultPtr, realloc } = callMetadata;
          const lowers = callMetadata.lowers; // may have been updated in task.return of the child
          if (lowers && lowers.length > 0) {
            lowers[0]({
              componentIdx: this.#componentIdx,
              memory,
              realloc,
              vals: [subtaskValue],
              storagePtr: resultPtr,
              stringEncoding: callMetadata.stringEncoding,
            });
          }
        }
        
        this.#resolved = true;
        this.#parentTask.removeSubtask(this);
        
        if (!this.isAsync) {
          this.deliverResolve();
          const rep = this.waitableRep();
          if (rep) {
            try {
              const removed = this.#getComponentState().handles.remove(rep);
              if (removed !== this) {
                throw new Error("unexpectedly received non-self Subtask from handle removal");
              }
              this.drop();
            } catch (err) {
              _debugLog('[AsyncSubtask#onResolve()] failed to remove subtask after sync subtask completion', err);
            }
          }
        }
      }
      
      getStateNumber() { return this.#state; }
      isReturned() { return this.#state === AsyncSubtask.State.RETURNED; }
      
      getCallMetadata() { return this.#callMetadata; }
      
      isResolved() {
        if (this.#state === AsyncSubtask.State.STARTING
        || this.#state === AsyncSubtask.State.STARTED) {
          return false;
        }
        if (this.#state === AsyncSubtask.State.RETURNED
        || this.#state === AsyncSubtask.State.CANCELLED_BEFORE_STARTED
        || this.#state === AsyncSubtask.State.CANCELLED_BEFORE_RETURNED) {
          return true;
        }
        throw new Error('unrecognized internal Subtask state [' + this.#state + ']');
      }
      
      addLender(handle) {
        _debugLog('[AsyncSubtask#addLender()] args', { handle });
        if (!Number.isNumber(handle)) { throw new Error('missing/invalid lender handle [' + handle + ']'); }
        
        if (this.#lenders.length === 0 || this.isResolved()) {
          throw new Error('subtask has no lendors or has already been resolved');
        }
        
        handle.lends++;
        this.#lenders.push(handle);
      }
      
      deliverResolve() {
        _debugLog('[AsyncSubtask#deliverResolve()] args', {
          lenders: this.#lenders,
          parentTaskID: this.parentTaskID(),
          subtaskID: this.#id,
          childTaskID: this.childTaskID(),
          resolved: this.isResolved(),
          resolveDelivered: this.resolveDelivered(),
        });
        
        const cannotDeliverResolve = this.resolveDelivered() || !this.isResolved();
        if (cannotDeliverResolve) {
          throw new Error('subtask cannot deliver resolution twice, and the subtask must be resolved');
        }
        
        for (const lender of this.#lenders) {
          lender.lends--;
        }
        
        this.#lenders = null;
      }
      
      resolveDelivered() {
        _debugLog('[AsyncSubtask#resolveDelivered()] args', { });
        if (this.#lenders === null && !this.isResolved()) {
          throw new Error('invalid subtask state, lenders missing and subtask has not been resolved');
        }
        return this.#lenders === null;
      }
      
      drop() {
        _debugLog('[AsyncSubtask#drop()] args', {
          componentIdx: this.#componentIdx,
          parentTaskID: this.#parentTask?.id(),
          parentTaskFnName: this.#parentTask?.entryFnName(),
          childTaskID: this.#childTask?.id(),
          childTaskFnName: this.#childTask?.entryFnName(),
          subtaskFnName: this.fnName,
        });
        if (!this.#waitable) { throw new Error('missing/invalid inner waitable'); }
        if (!this.resolveDelivered()) {
          throw new Error('cannot drop a subtask which has not yet resolved');
        }
        if (this.#waitable) { this.#waitable.drop() }
        this.#dropped = true;
      }
      
      #getComponentState() {
        const state = getOrCreateAsyncState(this.#componentIdx);
        if (!state) {
          throw new Error('invalid/missing async state for component [' + componentIdx + ']');
        }
        return state;
      }
      
      getWaitableHandleIdx() {
        _debugLog('[AsyncSubtask#getWaitableHandleIdx()] args', { });
        if (!this.#waitable) { throw new Error('missing/invalid waitable'); }
        return this.waitableRep();
      }
    }
    
    class FutureValue {
      #start;
      #settled;
      #hideThen = 0;
      #thenFn;
      
      constructor(start) {
        if (typeof start !== 'function') {
          throw new TypeError('future start operation must be a function');
        }
        this.#start = start;
        this.#thenFn = this.#then.bind(this);
      }
      
      get then() {
        return this.#hideThen === 0 ? this.#thenFn : undefined;
      }
      
      #read() {
        if (!this.#settled) {
          // The start operation resolves to a non-thenable box so a
          // future-valued payload cannot be assimilated by this Promise.
          this.#settled = Promise.resolve().then(this.#start);
        }
        return this.#settled;
      }
      
      resolveAsValue(resolve) {
        this.#hideThen++;
        try {
          resolve(this);
        } finally {
          this.#hideThen--;
        }
      }
      
      #deliver(resolve, value) {
        if (value instanceof FutureValue) {
          // Promise resolution reads `then` synchronously. Hide it only
          // for that lookup so resolving this layer yields the inner
          // FutureValue instead of recursively awaiting it.
          value.resolveAsValue(resolve);
          return;
        }
        resolve(value);
      }
      
      #then(resolve, reject) {
        return this.#read().then(
        box => this.#deliver(resolve, box.value),
        reject,
        );
      }
    }
    const ASYNC_DETERMINISM = 'random';
    const _coinFlip = () => { return Math.random() > 0.5; };
    
    const ASYNC_EVENT_CODE = {
      NONE: 0,
      SUBTASK: 1,
      STREAM_READ: 2,
      STREAM_WRITE: 3,
      FUTURE_READ: 4,
      FUTURE_WRITE: 5,
      TASK_CANCELLED: 6,
    };
    const CURRENT_TASK_META = {};
    
    function _withGlobalCurrentTaskMeta(args) {
      _debugLog('[_withGlobalCurrentTaskMeta()] args', args);
      if (!args) { throw new TypeError('args missing'); }
      if (args.taskID === undefined) { throw new TypeError('missing task ID'); }
      if (args.componentIdx === undefined) { throw new TypeError('missing component idx'); }
      if (!args.fn) { throw new TypeError('missing fn'); }
      const { taskID, componentIdx, fn } = args;
      const previous = CURRENT_TASK_META[componentIdx] ?? null;
      const previousCurrent = CURRENT_TASK_META.current ?? null;
      
      try {
        CURRENT_TASK_META.current =
        CURRENT_TASK_META[componentIdx] = { taskID, componentIdx };
        return fn();
      } catch (err) {
        _debugLog("error while executing sync callee/callback", {
          ...args,
          err,
        });
        throw err;
      } finally {
        // Synchronous wrappers can nest without any intervening JS
        // scheduling. Restore the caller rather than clearing it so
        // helper core exports (for example fused return adapters) can
        // temporarily run under a different task of the same component.
        CURRENT_TASK_META[componentIdx] = previous;
        CURRENT_TASK_META.current = previousCurrent;
      }
    }
    
    async function _withGlobalCurrentTaskMetaAsync(args) {
      _debugLog('[_withGlobalCurrentTaskMetaAsync()] args', args);
      if (!args) { throw new TypeError('args missing'); }
      if (args.taskID === undefined) { throw new TypeError('missing task ID'); }
      if (args.componentIdx === undefined) { throw new TypeError('missing component idx'); }
      if (!args.fn) { throw new TypeError('missing fn'); }
      
      const { taskID, componentIdx, fn } = args;
      
      try {
        CURRENT_TASK_META.current =
        CURRENT_TASK_META[componentIdx] = { taskID, componentIdx };
        return await fn();
      } catch (err) {
        _debugLog("error while executing async callee/callback", {
          ...args,
          err,
        });
        throw err;
      } finally {
        CURRENT_TASK_META[componentIdx] = null;
        if (CURRENT_TASK_META.current?.taskID === taskID) {
          CURRENT_TASK_META.current = null;
        }
      }
    }
    
    class AsyncTask {
      static _ID = 0n;
      
      static State = {
        INITIAL: 'initial',
        CANCELLED: 'cancelled',
        CANCEL_PENDING: 'cancel-pending',
        CANCEL_DELIVERED: 'cancel-delivered',
        RESOLVED: 'resolved',
      }
      
      static BlockResult = {
        CANCELLED: 'block.cancelled',
        NOT_CANCELLED: 'block.not-cancelled',
      }
      
      #id;
      #componentIdx;
      #state;
      #isAsync;
      #isManualAsync;
      #callingWasmExport = true;
      #lockFreeEntry = false;
      #preserveFutureResult;
      #entryFnName = null;
      
      #onResolveHandlers = [];
      #progressWaiters = [];
      #completionPromise = null;
      #completionValue;
      #completionReady = false;
      #settleCompletionPromise;
      #rejected = false;
      
      #exitPromise = null;
      #onExitHandlers = [];
      
      #memoryIdx = null;
      #memory = null;
      
      #callbackFn = null;
      #callbackFnName = null;
      
      #postReturnFn = null;
      
      #getCalleeParamsFn = null;
      #calleeIsAsync = null;
      
      #stringEncoding = null;
      
      #parentSubtask = null;
      
      #errHandling;
      
      #backpressurePromise;
      #backpressureWaiters = 0n;
      
      #returnLowerFns = null;
      
      #resourceScopeId;
      #resourceBorrowCount = 0;
      #resourceLenders = [];
      #resourceScopeExited = false;
      
      #subtasks = [];
      
      #entered = false;
      #exited = false;
      #errored = null;
      
      cancelled = false;
      cancelRequested = false;
      alwaysTaskReturn = false;
      
      returnCalls =  0;
      storage = [0, 0];
      tmpRetI64HighBits = 0|0;
      
      constructor(opts) {
        this.#id = ++AsyncTask._ID;
        this.#resourceScopeId = ++RESOURCE_SCOPE_ID;
        RESOURCE_SCOPE_TASKS.set(this.#resourceScopeId, this);
        
        if (opts?.componentIdx === undefined) {
          throw new TypeError('missing component id during task creation');
        }
        this.#componentIdx = opts.componentIdx;
        
        this.#state = AsyncTask.State.INITIAL;
        this.#isAsync = opts?.isAsync ?? false;
        this.#isManualAsync = opts?.isManualAsync ?? false;
        this.#preserveFutureResult = opts?.preserveFutureResult ?? false;
        this.#entryFnName = opts.entryFnName;
        // Tasks that execute guest slices (export calls, fused
        // callees) default to true; import-handler tasks pass false
        // explicitly (they run host code nested inside the caller's
        // already-locked slice).
        this.#callingWasmExport = opts?.callingWasmExport !== false;
        
        const {
          promise: completionPromise,
          resolve: resolveCompletionPromise,
          reject: rejectCompletionPromise,
        } = promiseWithResolvers();
        this.#completionPromise = completionPromise;
        // A nested rejection can reach the root task while its Wasm
        // entrypoint is still suspended, before the export wrapper awaits
        // this promise. Mark it handled immediately while preserving the
        // original rejected promise for the eventual caller.
        completionPromise.catch(() => {});
        
        let completionSettled = false;
        const settleCompletionPromise = () => {
          if (completionSettled || !this.#completionReady) { return; }
          completionSettled = true;
          if (this.#errored !== null) {
            rejectCompletionPromise(this.#errored);
          } else if (this.#rejected) {
            rejectCompletionPromise(this.#completionValue);
          } else if (
          this.#preserveFutureResult
          && this.#completionValue instanceof FutureValue
          ) {
            this.#completionValue.resolveAsValue(resolveCompletionPromise);
          } else {
            resolveCompletionPromise(this.#completionValue);
          }
        };
        
        this.#settleCompletionPromise = settleCompletionPromise;
        this.#onResolveHandlers.push((results) => {
          if (this.#parentSubtask !== null) { return; }
          if (!this.#isAsync && !this.#isManualAsync) { return; }
          this.#completionValue = results;
          this.#completionReady = true;
          // Publish after the current guest slice returns, so a trap
          // in that slice can still reject the call. Do not wait for
          // task exit: detached work may require further host calls
          // or consumption of a returned resource's stream.
        });
        
        const {
          promise: exitPromise,
          resolve: resolveExitPromise,
          reject: rejectExitPromise,
        } = promiseWithResolvers();
        this.#exitPromise = exitPromise;
        
        this.#onExitHandlers.push(() => {
          if (this.#parentSubtask === null && (this.#isAsync || this.#isManualAsync)) {
            settleCompletionPromise();
          }
          resolveExitPromise();
        });
        
        if (opts.callbackFn) { this.#callbackFn = opts.callbackFn; }
        if (opts.callbackFnName) { this.#callbackFnName = opts.callbackFnName; }
        
        if (opts.getCalleeParamsFn) { this.#getCalleeParamsFn = opts.getCalleeParamsFn; }
        if (opts.stringEncoding) { this.#stringEncoding = opts.stringEncoding; }
        
        if (opts.parentSubtask) { this.#parentSubtask = opts.parentSubtask; }
        
        
        if (opts.errHandling) { this.#errHandling = opts.errHandling; }
      }
      
      taskState() { return this.#state; }
      id() { return this.#id; }
      componentIdx() { return this.#componentIdx; }
      entryFnName() { return this.#entryFnName; }
      
      resourceScopeId() { return this.#resourceScopeId; }
      
      addBorrowedHandle() {
        if (this.#resourceScopeExited) {
          throw new Error('cannot add a borrow to an exited resource scope');
        }
        this.#resourceBorrowCount++;
      }
      
      removeBorrowedHandle() {
        if (this.#resourceBorrowCount === 0) {
          throw new Error('resource borrow count underflow');
        }
        this.#resourceBorrowCount--;
      }
      
      addResourceLender(table, handle) {
        if (this.#resourceScopeExited) {
          throw new Error('cannot add a lender to an exited resource scope');
        }
        this.#resourceLenders.push({ table, handle });
      }
      
      validateResourceBorrowScope() {
        if (this.#resourceScopeExited) { return; }
        if (this.#resourceBorrowCount !== 0) {
          throw new WebAssemblyRuntimeError('borrow handles still remain at the end of the call');
        }
        for (const { table, handle } of this.#resourceLenders) {
          const idx = handle << 1;
          const lendCount = table[idx];
          if (!Number.isInteger(lendCount) || lendCount <= 0 || lendCount >= 2**30) {
            throw new Error('invalid resource lender state at scope exit');
          }
          table[idx] = lendCount - 1;
        }
        this.#resourceLenders = [];
        this.#resourceScopeExited = true;
        RESOURCE_SCOPE_TASKS.delete(this.#resourceScopeId);
      }
      
      completionPromise() { return this.#completionPromise; }
      settleCompletion() { this.#settleCompletionPromise(); }
      exitPromise() { return this.#exitPromise; }
      
      waitForProgress() {
        const { promise, resolve } = promiseWithResolvers();
        this.#progressWaiters.push(resolve);
        return promise;
      }
      
      notifyProgress() {
        const waiters = this.#progressWaiters;
        this.#progressWaiters = [];
        for (const resolve of waiters) { resolve(); }
      }
      
      isAsync() { return this.#isAsync; }
      isManualAsync() { return this.#isManualAsync; }
      isSync() { return !this.isAsync(); }
      
      getErrHandling() { return this.#errHandling; }
      
      hasCallback() { return this.#callbackFn !== null; }
      
      getReturnMemoryIdx() { return this.#memoryIdx; }
      setReturnMemoryIdx(idx) {
        if (idx === null) { return; }
        this.#memoryIdx = idx;
      }
      
      getReturnMemory() { return this.#memory; }
      setReturnMemory(m) {
        if (m === null) { return; }
        this.#memory = m;
      }
      
      setReturnLowerFns(fns) { this.#returnLowerFns = fns; }
      getReturnLowerFns() { return this.#returnLowerFns; }
      
      setCalleeIsAsync(value) {
        if (typeof value !== 'boolean') { throw new TypeError('callee async state must be a boolean'); }
        this.#calleeIsAsync = value;
      }
      
      setParentSubtask(subtask) {
        if (!subtask || !(subtask instanceof AsyncSubtask)) { return }
        if (this.#parentSubtask) { throw new Error('parent subtask can only be set once'); }
        this.#parentSubtask = subtask;
      }
      
      getParentSubtask() { return this.#parentSubtask; }
      
      // TODO(threads): this is very inefficient, we can pass along a root task,
      // and ideally do not need this once thread support is in place
      getRootTask() {
        let currentSubtask = this.getParentSubtask();
        let task = this;
        while (currentSubtask) {
          task = currentSubtask.getParentTask();
          currentSubtask = task.getParentSubtask();
        }
        return task;
      }
      
      setPostReturnFn(f) {
        if (!f) { return; }
        if (this.#postReturnFn) { throw new Error('postReturn fn can only be set once'); }
        this.#postReturnFn = f;
      }
      
      setCallbackFn(f, name) {
        if (!f) { return; }
        if (this.#callbackFn) { throw new Error('callback fn can only be set once'); }
        this.#callbackFn = f;
        this.#callbackFnName = name;
      }
      
      getCallbackFnName() {
        if (!this.#callbackFnName) { return undefined; }
        return this.#callbackFnName;
      }
      
      runCallbackFn(...args) {
        if (!this.#callbackFn) { throw new Error('no callback function has been set for task'); }
        if (this.#callbackFn._jcoMaySuspend === false) {
          return _withGlobalCurrentTaskMeta({
            taskID: this.#id,
            componentIdx: this.#componentIdx,
            fn: () => this.#callbackFn.apply(null, args),
          });
        }
        return _withGlobalCurrentTaskMetaAsync({
          taskID: this.#id,
          componentIdx: this.#componentIdx,
          fn: () => { return this.#callbackFn.apply(null, args); }
        });
      }
      
      getCalleeParams() {
        if (!this.#getCalleeParamsFn) { throw new Error('missing/invalid getCalleeParamsFn'); }
        return this.#getCalleeParamsFn();
      }
      
      // Legacy manually-async exports are sync-typed in the component
      // but use JSPI precisely so their guest stack may suspend.
      mayBlock() { return this.isAsync() || this.isManualAsync() || this.isResolvedState() }
      
      mayEnter(task) {
        const cstate = getOrCreateAsyncState(this.#componentIdx);
        if (cstate.hasBackpressure()) {
          _debugLog('[AsyncTask#mayEnter()] disallowed due to backpressure', { taskID: this.#id });
          return false;
        }
        if (!cstate.callingSyncImport()) {
          _debugLog('[AsyncTask#mayEnter()] disallowed due to sync import call', { taskID: this.#id });
          return false;
        }
        const callingSyncExportWithSyncPending = cstate.callingSyncExport && !task.isAsync;
        if (!callingSyncExportWithSyncPending) {
          _debugLog('[AsyncTask#mayEnter()] disallowed due to sync export w/ sync pending', { taskID: this.#id });
          return false;
        }
        return true;
      }
      
      enterSync() {
        if (this.needsExclusiveLock()) {
          const cstate = getOrCreateAsyncState(this.#componentIdx);
          if (!cstate.isExclusivelyLocked()) {
            cstate.exclusiveLock(this.#id);
          } else {
            // A host-called sync export arriving while another
            // task's slice holds the lock: synchronous entry
            // cannot wait, and historically this entry silently
            // stole the hold. Run without the lock instead --
            // the holder's bookkeeping stays intact and its
            // release still pairs
            this.#lockFreeEntry = true;
            _debugLog('[AsyncTask#enterSync()] entering without exclusive lock', {
              taskID: this.#id,
              componentIdx: this.#componentIdx,
            });
          }
        }
        return true;
      }
      
      tryEnter() {
        if (this.#entered) {
          throw new Error(`task with ID [${this.#id}] should not be entered twice`);
        }
        
        if (this.deliverPendingCancel({ cancellable: true })) {
          this.cancel();
          return false;
        }
        
        const cstate = getOrCreateAsyncState(this.#componentIdx);
        if (this.isSync()) {
          this.#entered = true;
          return true;
        }
        if (cstate.hasBackpressure()) { return null; }
        if (this.needsExclusiveLock()) {
          if (cstate.isExclusivelyLocked()) { return null; }
          cstate.exclusiveLock(this.#id);
        }
        
        if (this.deliverPendingCancel({ cancellable: true })) {
          cstate.exclusiveRelease(this.#id);
          this.cancel();
          return false;
        }
        
        this.#entered = true;
        return true;
      }
      
      async enter(opts) {
        _debugLog('[AsyncTask#enter()] args', {
          taskID: this.#id,
          componentIdx: this.#componentIdx,
          subtaskID: this.getParentSubtask()?.id(),
          args: opts,
          entryFnName: this.#entryFnName,
        });
        
        if (this.#entered) {
          throw new Error(`task with ID [${this.#id}] should not be entered twice`);
        }
        
        // If cancellation was requested before the task was entered, resolve
        // as cancelled without ever running guest code
        if (this.deliverPendingCancel({ cancellable: true })) {
          this.cancel();
          return false;
        }
        
        const cstate = getOrCreateAsyncState(this.#componentIdx);
        
        if (opts?.isHost) {
          this.#entered = true;
          // A guest task may be synchronously blocked in this
          // host entry. Propagate that boundary so an async
          // cancellation driver can yield BLOCKED while the host
          // operation is outstanding.
          const parentTask = this.#parentSubtask?.getParentTask();
          if (
          parentTask?.taskState() === AsyncTask.State.CANCEL_DELIVERED
          || (parentTask && !parentTask.hasCallback())
          ) {
            parentTask.notifyProgress();
          }
          return this.#entered;
        }
        
        // NOTE: concurrent task lifetimes within one component instance are
        // permitted by the Component Model: entry is governed by the
        // backpressure and exclusive-lock checks below (the lock is held per
        // execution slice, not for the task's lifetime).
        //
        // Serializing entire task lifetimes here (the former "execution slot" queue)
        // deadlocks pipelines where a parked long-lived task's progress depends on a
        // later entry into the same component.
        
        // If a task is synchronous then we can avoid component-relevant
        // tracking and immediately enter.
        if (this.isSync()) {
          this.#entered = true;
          
          // TODO(breaking): remove once manually-specifying async fns is removed
          // It is currently possible for an actually sync export to be specified
          // as async via JSPI
          if (this.#isManualAsync) {
            if (this.needsExclusiveLock()) { await cstate.acquireExclusiveLock(this.#id); }
          }
          
          return this.#entered;
        }
        
        // Perform intial backpressure check
        if (cstate.hasBackpressure()) {
          cstate.addBackpressureWaiter();
          
          const result = await this.waitUntil({
            readyFn: () => {
              return !cstate.hasBackpressure();
            },
            cancellable: true,
          });
          
          cstate.removeBackpressureWaiter();
          
          if (!result || this.isCancelled()) {
            if (!this.isResolvedState()) { this.cancel(); }
            return false;
          }
        }
        
        // Acquire the per-slice exclusive lock (FIFO-queued when
        // contended); the first slice runs under this hold and the
        // driver loop releases/re-acquires it per slice thereafter.
        if (this.needsExclusiveLock()) {
          await cstate.acquireExclusiveLock(this.#id);
        }
        
        // Cancellation-before-start may resolve this task while its
        // queued lock acquisition is still pending. Acquiring the lock
        // does not make the already-resolved task runnable again.
        if (this.isResolvedState() || this.isCancelled()) {
          cstate.exclusiveRelease(this.#id);
          return false;
        }
        
        // Cancellation can be requested while entry is waiting for
        // backpressure or its exclusive lock. Do not execute the guest
        // after acquiring a lock for a task that should no longer start.
        if (this.deliverPendingCancel({ cancellable: true })) {
          cstate.exclusiveRelease(this.#id);
          this.cancel();
          return false;
        }
        
        this.#entered = true;
        return this.#entered;
      }
      
      isRunningState() { return this.#state !== AsyncTask.State.RESOLVED; }
      isResolvedState() { return this.#state === AsyncTask.State.RESOLVED; }
      isResolved() { return this.#state === AsyncTask.State.RESOLVED; }
      isExited() { return this.#exited; }
      
      async waitUntil(opts) {
        const { readyFn, cancellable } = opts;
        _debugLog('[AsyncTask#waitUntil()] args', { taskID: this.#id, args: { cancellable } });
        
        // TODO(fix): check for cancel
        // TODO(fix): determinism
        // TODO(threads): add this thread to waiting list
        
        const keepGoing = await this.suspendUntil({
          readyFn,
          cancellable,
        });
        
        return keepGoing;
      }
      
      async yieldUntil(opts) {
        const { readyFn, cancellable } = opts;
        _debugLog('[AsyncTask#yieldUntil()]', {
          taskID: this.#id,
          args: {
            cancellable,
          },
          componentIdx: this.#componentIdx,
        });
        
        // A callback YIELD is an explicit request to let other work run.
        // Unlike waits whose condition is already ready, it must always
        // suspend for at least one scheduler turn.
        const keepGoing = await this.immediateSuspend({ readyFn, cancellable });
        if (keepGoing) {
          return {
            code: ASYNC_EVENT_CODE.NONE,
            payload0: 0,
            payload1: 0,
          };
        }
        
        return {
          code: ASYNC_EVENT_CODE.TASK_CANCELLED,
          payload0: 0,
          payload1: 0,
        };
      }
      
      async suspendUntil(opts) {
        const { cancellable, readyFn } = opts;
        _debugLog('[AsyncTask#suspendUntil()] args', {
          taskID: this.#id,
          args: {
            cancellable,
          },
          componentIdx: this.#componentIdx,
        });
        
        const pendingCancelled = this.deliverPendingCancel({ cancellable });
        if (pendingCancelled) { return false; }
        
        const completed = await this.immediateSuspendUntil({ readyFn, cancellable });
        return completed;
      }
      
      suspendUntilCallback(opts, onResume) {
        const { cancellable, readyFn } = opts;
        if (this.deliverPendingCancel({ cancellable })) {
          onResume(false);
          return;
        }
        
        const cstate = getOrCreateAsyncState(this.#componentIdx);
        cstate.suspendTask({
          task: this,
          cancellable,
          readyFn: () => {
            if (cancellable && this.#state === AsyncTask.State.CANCEL_PENDING) {
              return true;
            }
            return readyFn();
          },
          onResume: (keepGoing) => {
            if (keepGoing && this.deliverPendingCancel({ cancellable })) {
              keepGoing = false;
            }
            onResume(keepGoing);
          },
        });
      }
      
      // TODO(threads): equivalent to thread.suspend_until()
      async immediateSuspendUntil(opts) {
        const { cancellable, readyFn } = opts;
        _debugLog('[AsyncTask#immediateSuspendUntil()] args', {
          args: {
            cancellable,
            readyFn,
          },
          taskID: this.#id,
          componentIdx: this.#componentIdx,
        });
        
        const ready = readyFn();
        if (ready && ASYNC_DETERMINISM === 'random') {
          const coinFlip = _coinFlip();
          if (coinFlip) { return true }
        }
        
        const keepGoing = await this.immediateSuspend({ cancellable, readyFn });
        return keepGoing;
      }
      
      async immediateSuspend(opts) { // NOTE: equivalent to thread.suspend()
      // TODO(threads): store readyFn on the thread
      const { cancellable, readyFn } = opts;
      _debugLog('[AsyncTask#immediateSuspend()] args', { cancellable, readyFn });
      
      const pendingCancelled = this.deliverPendingCancel({ cancellable });
      if (pendingCancelled) { return false; }
      
      const cstate = getOrCreateAsyncState(this.#componentIdx);
      const keepGoing = await cstate.suspendTask({
        task: this,
        cancellable,
        readyFn: () => {
          // A pending cancellation request wakes cancellable waits
          if (cancellable && this.#state === AsyncTask.State.CANCEL_PENDING) {
            return true;
          }
          return readyFn();
        },
      });
      if (keepGoing && this.deliverPendingCancel({ cancellable })) { return false; }
      return keepGoing;
    }
    
    deliverPendingCancel(opts) {
      const { cancellable } = opts;
      _debugLog('[AsyncTask#deliverPendingCancel()]', {
        args: { cancellable },
        taskID: this.#id,
        componentIdx: this.#componentIdx,
      });
      
      if (cancellable && this.#state === AsyncTask.State.CANCEL_PENDING) {
        this.#state = AsyncTask.State.CANCEL_DELIVERED;
        return true;
      }
      
      return false;
    }
    
    isCancelled() { return this.cancelled }
    cancellationRequested() { return this.cancelRequested; }
    
    // Request cooperative cancellation of this task, called on behalf of a
    // supertask performing `subtask.cancel` on the subtask this task backs.
    //
    // The request is delivered at this task's next cancellable wait
    // (see suspendUntil/immediateSuspend), at which point the task is
    // expected to acknowledge via `task.cancel` or still resolve via
    // `task.return`.
    requestCancellation() {
      _debugLog('[AsyncTask#requestCancellation()] args', {
        taskID: this.#id,
        componentIdx: this.#componentIdx,
        state: this.#state,
      });
      if (this.isResolvedState() || this.cancelRequested) { return; }
      this.cancelRequested = true;
      if (this.#state === AsyncTask.State.INITIAL) {
        this.#state = AsyncTask.State.CANCEL_PENDING;
      }
      // Nudge the component's tick loop so that any suspended cancellable
      // wait observes the pending cancellation promptly
      getOrCreateAsyncState(this.#componentIdx).runTickLoop();
    }
    
    cancel(args) {
      _debugLog('[AsyncTask#cancel()] args', { });
      if (this.taskState() !== AsyncTask.State.CANCEL_DELIVERED) {
        throw new Error(`(component [${this.#componentIdx}]) task [${this.#id}] invalid task state [${this.taskState()}] for cancellation`);
      }
      this.validateResourceBorrowScope();
      this.cancelled = true;
      // Cancelled tasks resolve with no value (spec: `Task.cancel` calls
      // `on_resolve(None)`); an explicit error is only present on the
      // host-driven rejection path (see `reject()`).
      this.onResolve(args?.error ?? null);
      this.#state = AsyncTask.State.RESOLVED;
      // A task cancelled before entry has no driver loop that can
      // report its exit. Entered tasks notify after releasing their
      // component slice in `exit()`.
      if (!this.#entered) { this.notifyProgress(); }
    }
    
    onResolve(taskValue) {
      const handlers = this.#onResolveHandlers;
      this.#onResolveHandlers = [];
      for (const f of handlers) {
        try {
          f(taskValue);
        } catch (err) {
          _debugLog("[AsyncTask#onResolve] error during task resolve handler", err);
          throw err;
        }
      }
      
      // Rejections are control-flow failures, not canonical ABI results.
      // Propagate them through the subtask chain without running return
      // lowering or post-return hooks for a successful result.
      if (this.#rejected) {
        this.#parentSubtask?.reject(taskValue);
        return;
      }
      
      // NOTE: if the parent subtask has already been resolved (e.g. it was
      // cancelled via `subtask.cancel` while this task was still pending),
      // this task's resolution must be discarded rather than delivered.
      const parentSubtaskPending = this.#parentSubtask && !this.#parentSubtask.isResolved();
      const taskReturned = !this.isCancelled();
      
      if (parentSubtaskPending && taskReturned) {
        const meta = this.#parentSubtask.getCallMetadata();
        // Run the rturn fn if it has not already been called -- this *should* have happened in
        // `task.return`, but some paths do not go through task.return (e.g. async lower of sync fn
        // which goes through prepare + async-start-call)
        if (meta.returnFn && !meta.returnFnCalled) {
          _debugLog('[AsyncTask#onResolve()] running returnFn', {
            componentIdx: this.#componentIdx,
            taskID: this.#id,
            subtaskID: this.#parentSubtask.id(),
          });
          const callerTask = this.#parentSubtask.getParentTask();
          _withGlobalCurrentTaskMeta({
            taskID: callerTask.id(),
            componentIdx: callerTask.componentIdx(),
            fn: () => meta.returnFn.apply(null, [taskValue, meta.resultPtr]),
          });
          meta.returnFnCalled = true;
        }
      }
      
      if (this.#postReturnFn && taskReturned) {
        _debugLog('[AsyncTask#onResolve()] running post return ', {
          componentIdx: this.#componentIdx,
          taskID: this.#id,
        });
        try {
          _withGlobalCurrentTaskMeta({
            taskID: this.#id,
            componentIdx: this.#componentIdx,
            fn: () => this.#postReturnFn(taskValue),
          });
        } catch (err) {
          _debugLog("[AsyncTask#onResolve] error during task resolve handler", err);
          throw err;
        }
      }
      
      if (parentSubtaskPending) {
        this.#parentSubtask.onResolve(taskValue);
      }
    }
    
    registerOnResolveHandler(f) {
      this.#onResolveHandlers.push(f);
    }
    
    isRejected() { return this.#rejected; }
    
    isErrored() { return this.#errored; }
    setErrored(err) {
      // Preserve the originating trap when unwinding through
      // additional guest frames produces secondary traps (often
      // an `unreachable` after a call which was expected to trap).
      if (this.#errored === null) { this.#errored = err; }
    }
    
    reject(taskErr) {
      _debugLog('[AsyncTask#reject()] args', {
        componentIdx: this.#componentIdx,
        taskID: this.#id,
        parentSubtask: this.#parentSubtask,
        parentSubtaskID: this.#parentSubtask?.id(),
        entryFnName: this.entryFnName(),
        callbackFnName: this.#callbackFnName,
        errMsg: taskErr.message,
      });
      
      this.setErrored(taskErr);
      if (this.#rejected) { return; }
      
      // A task may call `task.return` before its callback exits.
      // A trap in cleanup or spawned work must still reject the
      // host call and poison the enclosing task chain.
      if (this.isResolvedState()) {
        this.#rejected = true;
        this.#errored = taskErr;
        const parentTask = this.#parentSubtask?.getParentTask();
        if (parentTask) { parentTask.reject(taskErr); }
        return;
      }
      
      this.#rejected = true;
      this.cancelRequested = true;
      this.#state = AsyncTask.State.CANCEL_PENDING;
      const cancelled = this.deliverPendingCancel({ cancellable: true });
      
      // TODO: do cleanup here to reset the machinery so we can run again?
      
      this.cancel({ error: taskErr });
    }
    
    resolve(results) {
      _debugLog('[AsyncTask#resolve()] args', {
        componentIdx: this.#componentIdx,
        taskID: this.#id,
        entryFnName: this.entryFnName(),
        callbackFnName: this.#callbackFnName,
      });
      
      if (this.#state === AsyncTask.State.RESOLVED) {
        throw new Error(`(component [${this.#componentIdx}]) task [${this.#id}]  is already resolved (did you forget to wait for an import?)`);
      }
      
      this.validateResourceBorrowScope();
      
      this.#state = AsyncTask.State.RESOLVED;
      
      switch (results.length) {
        case 0:
        this.onResolve(undefined);
        break;
        case 1:
        this.onResolve(results[0]);
        break;
        default:
        _debugLog('[AsyncTask#resolve()] unexpected number of results', {
          componentIdx: this.#componentIdx,
          results,
          taskID: this.#id,
          subtaskID: this.#parentSubtask?.id(),
          entryFnName: this.#entryFnName,
          callbackFnName: this.#callbackFnName,
        });
        throw new Error('unexpected number of results');
      }
    }
    
    exit(args) {
      _debugLog('[AsyncTask#exit()]', {
        componentIdx: this.#componentIdx,
        taskID: this.#id,
      });
      
      if (this.#exited)  { throw new Error("task has already exited"); }
      
      if (this.#state !== AsyncTask.State.RESOLVED) {
        throw new Error(`(component [${this.#componentIdx}]) task [${this.#id}] exited without resolution`);
      }
      
      this.validateResourceBorrowScope();
      
      const state = getOrCreateAsyncState(this.#componentIdx);
      if (!state) { throw new Error('missing async state for component [' + this.#componentIdx + ']'); }
      
      // Exempt the host from exclusive lock check
      if (this.#componentIdx !== -1 && !args?.skipExclusiveLockCheck && !this.#lockFreeEntry) {
        if (this.needsExclusiveLock() && !state.exclusivelyLockedBy(this.#id)) {
          throw new Error(`task [${this.#id}] exit: component [${this.#componentIdx}] should have been exclusively locked by it`);
        }
      }
      
      // Ownership-checked: releases only this task's own hold (a
      // task exiting while another task's slice holds the lock no
      // longer clears the foreign hold).
      state.exclusiveRelease(this.#id);
      this.notifyProgress();
      
      for (const f of this.#onExitHandlers) {
        try {
          f();
        } catch (err) {
          console.error("error during task exit handler", err);
          throw err;
        }
      }
      
      this.#exited = true;
      clearCurrentTask(this.#componentIdx, this.id());
    }
    
    needsExclusiveLock() {
      // Host (-1) tasks model host-side import handling: there is no
      // guest linear memory or executor state to protect, and host
      // calls from unrelated guest components would contend spuriously.
      if (this.#componentIdx === -1) { return false; }
      // Import-handler tasks (CallInterface) run host code nested
      // inside the calling guest slice, which already holds the
      // lock; only tasks that execute guest slices need it.
      if (!this.#callingWasmExport) { return false; }
      // A sync-lifted callee cannot be reentered until the whole
      // stackful call returns. This is the Component Model's
      // automatic-backpressure rule for async-lowered calls.
      return !this.#isAsync || this.hasCallback() || this.#calleeIsAsync === false;
    }
    
    createSubtask(args) {
      _debugLog('[AsyncTask#createSubtask()] args', args);
      const { componentIdx, childTask, callMetadata, fnName, isAsync, isManualAsync } = args;
      
      const cstate = getOrCreateAsyncState(this.#componentIdx);
      if (!cstate) {
        throw new Error(`invalid/missing async state for component idx [${componentIdx}]`);
      }
      
      const waitable = new Waitable({
        componentIdx: this.#componentIdx,
        target: `subtask (internal ID [${this.#id}])`,
      });
      
      const newSubtask = new AsyncSubtask({
        componentIdx,
        childTask,
        parentTask: this,
        callMetadata,
        isAsync,
        isManualAsync,
        fnName,
        waitable,
      });
      this.#subtasks.push(newSubtask);
      newSubtask.setTarget(`subtask (internal ID [${newSubtask.id()}], waitable [${waitable.idx()}], component [${componentIdx}])`);
      waitable.setIdx(cstate.handles.insert(newSubtask));
      waitable.setTarget(`waitable for subtask (waitable id [${waitable.idx()}], subtask internal ID [${newSubtask.id()}])`);
      return newSubtask;
    }
    
    getLatestSubtask() {
      return this.#subtasks.at(-1);
    }
    
    getSubtaskByWaitableRep(rep) {
      if (rep === undefined) { throw new TypeError('missing rep'); }
      return this.#subtasks.find(s => s.waitableRep() === rep);
    }
    
    currentSubtask() {
      _debugLog('[AsyncTask#currentSubtask()]');
      if (this.#subtasks.length === 0) { return undefined; }
      return this.#subtasks.at(-1);
    }
    
    removeSubtask(subtask) {
      if (this.#subtasks.length === 0) {
        throw new Error('cannot end current subtask: no current subtask');
      }
      this.#subtasks = this.#subtasks.filter(t => t !== subtask);
      return subtask;
    }
  }
  
  function createNewCurrentTask(args) {
    _debugLog('[createNewCurrentTask()] args', args);
    const {
      componentIdx,
      isAsync,
      isManualAsync,
      preserveFutureResult,
      entryFnName,
      parentSubtaskID,
      callbackFnName,
      getCallbackFn,
      getParamsFn,
      stringEncoding,
      errHandling,
      getCalleeParamsFn,
      resultPtr,
      callingWasmExport,
    } = args;
    if (componentIdx === undefined || componentIdx === null) {
      throw new Error('missing/invalid component instance index while starting task');
    }
    let taskMetas = ASYNC_TASKS_BY_COMPONENT_IDX.get(componentIdx);
    const callbackFn = getCallbackFn ? getCallbackFn() : null;
    
    const newTask = new AsyncTask({
      componentIdx,
      isAsync,
      isManualAsync,
      preserveFutureResult,
      entryFnName,
      callbackFn,
      callbackFnName,
      stringEncoding,
      getCalleeParamsFn,
      resultPtr,
      errHandling,
      callingWasmExport,
    });
    
    const newTaskID = newTask.id();
    const newTaskMeta = { id: newTaskID, componentIdx, task: newTask };
    
    // NOTE: do not track host tasks
    ASYNC_CURRENT_TASK_IDS.push(newTaskID);
    ASYNC_CURRENT_COMPONENT_IDXS.push(componentIdx);
    
    if (!taskMetas) {
      taskMetas = [newTaskMeta];
      ASYNC_TASKS_BY_COMPONENT_IDX.set(componentIdx, [newTaskMeta]);
    } else {
      taskMetas.push(newTaskMeta);
    }
    
    return [newTask, newTaskID];
  }
  
  function _checkMayLeave(componentIdx) {
    if (INSTANCE_FLAGS.get(componentIdx)?.value !== 1) {
      throw new WebAssemblyRuntimeError('cannot leave component instance');
    }
  }
  
  function _getGlobalCurrentTaskMeta(componentIdx) {
    const v = componentIdx === undefined || componentIdx === null
    ? CURRENT_TASK_META.current
    : CURRENT_TASK_META[componentIdx];
    if (v === undefined || v === null) {
      return undefined;
    }
    return { ...v };
  }
  
  
  function _setGlobalCurrentTaskMeta(args) {
    if (!args) { throw new TypeError('args missing'); }
    if (args.taskID === undefined) { throw new TypeError('missing task ID'); }
    if (args.componentIdx === undefined) { throw new TypeError('missing component idx'); }
    const { taskID, componentIdx } = args;
    return CURRENT_TASK_META.current =
    CURRENT_TASK_META[componentIdx] = { taskID, componentIdx };
  }
  
  
  async function _clearCurrentTask(args) {
    _debugLog('[_clearCurrentTask()] args', args);
    if (!args) { throw new TypeError('args missing'); }
    if (args.taskID === undefined) { throw new TypeError('missing task ID'); }
    if (args.componentIdx === undefined) { throw new TypeError('missing component idx'); }
    const { taskID, componentIdx } = args;
    
    const meta = CURRENT_TASK_META[componentIdx];
    if (!meta) { throw new Error(`missing current task meta for component idx [${componentIdx}]`); }
    
    if (meta.taskID !== taskID) {
      throw new Error(`task ID [${meta.taskID}] != requested ID [${taskID}]`);
    }
    if (meta.componentIdx !== componentIdx) {
      throw new Error(`component idx [${meta.componentIdx}] != requested idx [${componentIdx}]`);
    }
    
    CURRENT_TASK_META[componentIdx] = null;
    if (CURRENT_TASK_META.current?.taskID === taskID) {
      CURRENT_TASK_META.current = null;
    }
  }
  
  function _lowerImportBackwardsCompat(args) {
    const params = [...arguments].slice(1);
    _debugLog('[_lowerImportBackwardsCompat()] args', { args, params });
    const {
      functionIdx,
      componentIdx,
      isAsync,
      isManualAsync,
      paramLiftFns,
      resultLowerFns,
      hasResultPointer,
      funcTypeIsAsync,
      metadata,
      memoryIdx,
      getMemoryFn,
      getReallocFn,
      importFn,
      stringEncoding,
    } = args;
    
    _checkMayLeave(componentIdx);
    
    let meta = _getGlobalCurrentTaskMeta(componentIdx);
    let createdTask;
    
    // Some components depend on initialization logic (i.e. `_initialize` or some such
    // core wasm export) that is embedded in the component, but is not executed or wizer'd
    // away before the transpiled component is attempted to be used.
    //
    // These components execut their initialization logic *when they are imported* in the
    // transpiled context -- so we may get a call to an export that is lowered without going
    // through `CallWasm` or `CallInterface`.
    //
    if (!meta) {
      if (funcTypeIsAsync || (isAsync && !isManualAsync)) {
        throw new Error('p3 async wasm exports cannot use backwards compat auto-task init');
      }
      
      const [newTask, newTaskID] = createNewCurrentTask({
        componentIdx,
        isAsync,
        isManualAsync,
        callingWasmExport: false,
      });
      createdTask = newTask;
      
      // Since we're managing the task creation ourselves we must clear ourselves
      createdTask.registerOnResolveHandler(() => {
        _clearCurrentTask({
          taskID: task.id(),
          componentIdx: task.componentIdx(),
        });
      });
      
      _setGlobalCurrentTaskMeta({
        componentIdx,
        taskID: newTaskID,
      });
      
      meta = _getGlobalCurrentTaskMeta(componentIdx);
    }
    
    const { taskID } = meta;
    
    const taskMeta = getCurrentTask(componentIdx, taskID);
    if (!taskMeta) {
      throw new Error('invalid/missing async task meta');
    }
    
    const task = taskMeta.task;
    if (!task) { throw new Error('invalid/missing async task'); }
    
    const cstate = getOrCreateAsyncState(componentIdx);
    
    if (!task.mayBlock() && funcTypeIsAsync && !isAsync) {
      throw new Error("non async exports cannot synchronously call async functions");
    }
    
    // If there is an existing task, this should be part of a subtask
    const memory = getMemoryFn();
    // Canonical ABI lower appends result storage as a trailing
    // param when async lower has any flat result, or sync lower
    // has more than one flat result.
    const resultPtr = hasResultPointer ? params[params.length - 1] : undefined;
    const subtask = task.createSubtask({
      componentIdx,
      parentTask: task,
      fnName: importFn.fnName,
      isAsync,
      isManualAsync,
      callMetadata: {
        memoryIdx,
        memory,
        realloc: getReallocFn?.(),
        getReallocFn,
        resultPtr,
        lowers: resultLowerFns,
        funcTypeIsAsync,
        stringEncoding,
      }
    });
    task.setReturnMemoryIdx(memoryIdx);
    task.setReturnMemory(getMemoryFn());
    
    subtask.onStart();
    
    // If dealing with a sync lowered sync function, we can directly return results
    //
    // TODO(breaking): remove once we get rid of manual async import specification,
    // as func types cannot be detected in that case only (and we don't need that w/ p3)
    if (!isManualAsync && !isAsync && !funcTypeIsAsync) {
      if (createdTask) { createdTask.enterSync(); }
      
      const res = importFn(...params);
      
      // TODO(breaking): remove once we get rid of manual async import specification,
      // as func types cannot be detected in that case only (and we don't need that w/ p3)
      if (!funcTypeIsAsync && !subtask.isReturned()) {
        throw new Error('post-execution subtasks must either be async or returned');
      }
      
      const syncRes = subtask.getResult();
      if (createdTask) { createdTask.resolve([syncRes]); }
      
      return syncRes;
    }
    
    // Sync-lowered async functions requires async behavior because the callee *can* block,
    // but this call must *act* synchronously and return immediately with the result
    // (i.e. not returning until the work is done)
    //
    // TODO(breaking): remove checking for manual async specification here, once we can go p3-only
    //
    if (!isManualAsync && !isAsync && funcTypeIsAsync) {
      const { promise, resolve, reject } = promiseWithResolvers();
      queueMicrotask(async () => {
        try {
          await importFn(...params);
          if (!subtask.isResolved()) {
            await task.suspendUntil({ readyFn: () => subtask.isResolved() });
          }
          resolve(subtask.getResult());
        } catch (err) {
          reject(err);
        }
      });
      return promise;
    }
    
    // NOTE: at this point we know that we are working with an async lowered import
    
    const subtaskState = subtask.getStateNumber();
    if (subtaskState < 0 || subtaskState >= 2**4) {
      throw new Error('invalid subtask state, out of valid range');
    }
    
    subtask.setOnProgressFn(() => {
      subtask.setPendingEvent(() => {
        if (subtask.isResolved()) { subtask.deliverResolve(); }
        const event = {
          code: ASYNC_EVENT_CODE.SUBTASK,
          payload0: subtask.waitableRep(),
          payload1: subtask.getStateNumber(),
        }
        return event;
      });
    });
    
    // This is a hack to maintain backwards compatibility with
    // manually-specified async imports, used in wasm exports that are
    // not actually async (but are specified as so).
    //
    // This is not normal p3 sync behavior but instead anticipating that
    // the caller that is doing manual async will be waiting for a promise that
    // resolves to the *actual* result.
    //
    // TODO(breaking): remove once manually specified async is removed
    //
    // There are a few cases:
    // 1. sync function with async types (e.g. `f: func() -> stream<u32>`)
    // 2. async function with async types (e.g. `f: async func() -> stream<u32>`)
    // 3. async function with sync types (e.g. `f: async func() -> list<u32>`)
    // 4. sync function with non-async types (e.g. `f: func() -> list<u32>`)
    //
    // This hack *only* applies to 4 -- the case where an async JS host function
    // is supplied to a Wasm export which does *not* need to do any async abi
    // lifting/lowering (async ABI did not exist when JSPI integratiton was
    // initially merged to enable asynchronously returning values from the host)
    //
    const requiresManualAsyncResult = !isAsync && !funcTypeIsAsync && isManualAsync;
    let manualAsyncResult;
    if (requiresManualAsyncResult) {
      manualAsyncResult = promiseWithResolvers();
    }
    
    queueMicrotask(async () => {
      try {
        _debugLog('[_lowerImportBackwardsCompat()] calling lowered import', { importFn, params });
        if (createdTask) { await createdTask.enter(); }
        
        const asyncRes = await importFn(...params);
        if (requiresManualAsyncResult) {
          manualAsyncResult.resolve(subtask.getResult());
        }
        
        if (createdTask) { createdTask.resolve([asyncRes]); }
        
        
      } catch (err) {
        _debugLog("[_lowerImportBackwardsCompat()] import fn error:", err);
        if (requiresManualAsyncResult) {
          manualAsyncResult.reject(err);
          return;
        }
        task.setErrored(err);
        task.reject(err);
      }
    });
    
    if (requiresManualAsyncResult) { return manualAsyncResult.promise; }
    
    _debugLog('[_lowerImportBackwardsCompat()] async-lowered import return', {
      fnName: importFn.fnName,
      componentIdx,
      subtaskID: subtask.id(),
      waitableRep: subtask.waitableRep(),
      subtaskState,
      packedResult: Number(subtask.waitableRep()) << 4 | subtaskState,
    });
    
    return Number(subtask.waitableRep()) << 4 | subtaskState;
  }
  
  const CURRENT_TASK_MAY_BLOCK= globalThis.WebAssembly ? new globalThis.WebAssembly.Global({ value: 'i32', mutable: true }, 0) : false;
  
  
  function _liftFlatBool(ctx) {
    _debugLog('[_liftFlatBool()] args', { ctx });
    let val;
    
    if (ctx.useDirectParams) {
      if (ctx.params.length === 0) { throw new Error('expected at least a single i32 argument'); }
      val = ctx.params[0] === 1;
      ctx.params = ctx.params.slice(1);
      return [val, ctx];
    }
    
    if (ctx.storageLen !== undefined && ctx.storageLen < 1) {
      throw new Error(`insufficient storage ([${ctx.storageLen}] bytes) for lift (bool requires 1 byte)`);
    }
    
    val = new DataView(ctx.memory.buffer).getUint8(ctx.storagePtr, true) === 1;
    
    ctx.storagePtr += 1;
    if (ctx.storageLen !== undefined) { ctx.storageLen -= 1; }
    
    return [val, ctx];
  }
  
  
  function _liftFlatU8(ctx) {
    _debugLog('[_liftFlatU8()] args', { ctx });
    let val;
    
    if (ctx.useDirectParams) {
      if (ctx.params.length === 0) { throw new Error('expected at least a single i32 argument'); }
      val = ctx.params[0];
      ctx.params = ctx.params.slice(1);
      return [val, ctx];
    }
    
    if (ctx.storageLen !== undefined && ctx.storageLen < 1) {
      throw new Error(`insufficient storage ([${ctx.storageLen}] bytes) for lift (u8 requires 1 byte)`);
    }
    
    val = new DataView(ctx.memory.buffer).getUint8(ctx.storagePtr, true);
    
    ctx.storagePtr += 1;
    if (ctx.storageLen !== undefined) { ctx.storageLen -= 1; }
    
    return [val, ctx];
  }
  
  
  function _liftFlatU16(ctx) {
    _debugLog('[_liftFlatU16()] args', { ctx });
    let val;
    
    if (ctx.useDirectParams) {
      if (ctx.params.length === 0) { throw new Error('expected at least a single i32 argument'); }
      val = ctx.params[0];
      ctx.params = ctx.params.slice(1);
      return [val, ctx];
    }
    
    if (ctx.storageLen !== undefined && ctx.storageLen < 2) {
      throw new Error(`insufficient storage ([${ctx.storageLen}] bytes) for lift (u16 requires 2 bytes)`);
    }
    
    val = new DataView(ctx.memory.buffer).getUint16(ctx.storagePtr, true);
    
    ctx.storagePtr += 2;
    if (ctx.storageLen !== undefined) { ctx.storageLen -= 2; }
    
    const rem = ctx.storagePtr % 2;
    if (rem !== 0) { ctx.storagePtr += (2 - rem); }
    
    return [val, ctx];
  }
  
  
  function _liftFlatU32(ctx) {
    _debugLog('[_liftFlatU32()] args', { ctx });
    let val;
    
    if (ctx.useDirectParams) {
      if (ctx.params.length === 0) { throw new Error('expected at least a single i34 argument'); }
      // core i32 values arrive as signed numbers
      val = ctx.params[0] >>> 0;
      ctx.params = ctx.params.slice(1);
      return [val, ctx];
    }
    
    if (ctx.storageLen !== undefined && ctx.storageLen < 4) {
      throw new Error(`insufficient storage ([${ctx.storageLen}] bytes) for lift (u32 requires 4 bytes)`);
    }
    val = new DataView(ctx.memory.buffer).getUint32(ctx.storagePtr, true);
    ctx.storagePtr += 4;
    if (ctx.storageLen !== undefined) { ctx.storageLen -= 4; }
    
    return [val, ctx];
  }
  
  
  function _liftFlatU64(ctx) {
    _debugLog('[_liftFlatU64()] args', { ctx });
    let val;
    
    if (ctx.useDirectParams) {
      if (ctx.params.length === 0) { throw new Error('expected at least one single i64 argument'); }
      if (typeof ctx.params[0] !== 'bigint') { throw new Error('expected bigint'); }
      // core i64 values arrive as signed BigInts
      val = BigInt.asUintN(64, ctx.params[0]);
      ctx.params = ctx.params.slice(1);
      return [val, ctx];
    }
    
    if (ctx.storageLen !== undefined && ctx.storageLen < 8) {
      throw new Error(`insufficient storage ([${ctx.storageLen}] bytes) for lift (u64 requires 8 bytes)`);
    }
    
    val = new DataView(ctx.memory.buffer).getBigUint64(ctx.storagePtr, true);
    ctx.storagePtr += 8;
    if (ctx.storageLen !== undefined) { ctx.storageLen -= 8; }
    
    return [val, ctx];
  }
  
  
  function _liftFlatStringUTF8(ctx) {
    _debugLog('[_liftFlatStringUTF8()] args', { ctx });
    let val;
    
    if (ctx.useDirectParams) {
      if (ctx.params.length < 2) { throw new Error('expected at least two u32 arguments'); }
      let offset = ctx.params[0];
      if (typeof offset === 'bigint') { offset = Number(offset); }
      if (!Number.isSafeInteger(offset)) { throw new Error('invalid offset'); }
      const len = ctx.params[1];
      if (!Number.isSafeInteger(len)) {  throw new Error('invalid len'); }
      val = TEXT_DECODER_UTF8.decode(new DataView(ctx.memory.buffer, offset, len));
      ctx.params = ctx.params.slice(2);
      return [val, ctx];
    }
    
    const rem = ctx.storagePtr % 4;
    if (rem !== 0) { ctx.storagePtr += (4 - rem); }
    
    const dv = new DataView(ctx.memory.buffer);
    const start = dv.getUint32(ctx.storagePtr, true);
    const codeUnits = dv.getUint32(ctx.storagePtr + 4, true);
    
    val = TEXT_DECODER_UTF8.decode(new Uint8Array(ctx.memory.buffer, start, codeUnits));
    
    ctx.storagePtr += 8;
    if (ctx.storageLen !== undefined) { ctx.storagelen -= 8; }
    
    return [val, ctx];
  }
  
  function _liftFlatStringUTF16(ctx) {
    _debugLog('[_liftFlatStringUTF16()] args', { ctx });
    let val;
    
    if (ctx.useDirectParams) {
      if (ctx.params.length < 2) { throw new Error('expected at least two u32 arguments'); }
      let offset = ctx.params[0];
      if (typeof offset === 'bigint') { offset = Number(offset); }
      if (!Number.isSafeInteger(offset)) {  throw new Error('invalid offset'); }
      const len = ctx.params[1];
      if (!Number.isSafeInteger(len)) {  throw new Error('invalid len'); }
      val = utf16Decoder.decode(new DataView(ctx.memory.buffer, offset, len));
      ctx.params = ctx.params.slice(2);
      return [val, ctx];
    }
    
    const data = new DataView(ctx.memory.buffer)
    const start = data.getUint32(ctx.storagePtr, vals[0], true);
    const codeUnits = data.getUint32(ctx.storagePtr, vals[0] + 4, true);
    val = utf16Decoder.decode(new Uint16Array(ctx.memory.buffer, start, codeUnits));
    ctx.storagePtr = ctx.storagePtr + 2 * codeUnits;
    if (ctx.storageLen !== undefined) { ctx.storageLen = ctx.storageLen - 2 * codeUnits }
    
    return [val, ctx];
  }
  
  function _liftFlatStringAny(ctx) {
    switch (ctx.stringEncoding) {
      case 'utf8':
      return _liftFlatStringUTF8(ctx);
      case 'utf16':
      return _liftFlatStringUTF16(ctx);
      default:
      throw new Error(`missing/unrecognized/unsupported string encoding [${ctx.stringEncoding}]`);
    }
  }
  
  function _liftFlatRecord(meta) {
    const { fieldMetas, size32: recordSize32, align32: recordAlign32 } = meta;
    return function _liftFlatRecordInner(ctx) {
      _debugLog('[_liftFlatRecord()] args', { ctx });
      
      const originalPtr = ctx.storagePtr;
      const res = {};
      for (const [key, liftFn, size32, align32] of fieldMetas) {
        let fieldPtr;
        if (ctx.storagePtr !== undefined) {
          const rem = ctx.storagePtr % align32;
          if (rem !== 0) { ctx.storagePtr += align32 - rem; }
          fieldPtr = ctx.storagePtr;
        }
        
        // A field occupies exactly size32 bytes of the record's
        // flat storage. Capture the remaining storage budget before
        // lifting the field and restore it afterwards: a field's own
        // lift fn may repurpose storageLen internally (e.g. a list
        // sets it to the element-buffer length while reading
        // out-of-line data and never restores it), which would
        // otherwise corrupt the budget the next field sees.
        // See https://github.com/bytecodealliance/jco/issues/1585.
        let fieldLen;
        if (ctx.storageLen !== undefined) { fieldLen = ctx.storageLen; }
        
        let [val, newCtx] = liftFn(ctx);
        res[key] = val;
        ctx = newCtx;
        
        if (fieldPtr !== undefined) {
          ctx.storagePtr = Math.max(ctx.storagePtr, fieldPtr + size32);
        }
        if (fieldLen !== undefined) {
          ctx.storageLen = fieldLen - size32;
        }
      }
      
      if (originalPtr !== undefined) {
        ctx.storagePtr = Math.max(ctx.storagePtr, originalPtr + recordSize32);
      }
      
      if (ctx.storagePtr !== undefined) {
        const rem = ctx.storagePtr % recordAlign32;
        if (rem !== 0) { ctx.storagePtr += recordAlign32 - rem; }
      }
      
      return [res, ctx];
    }
  }
  
  const _liftFlatVariantScratch = new DataView(new ArrayBuffer(8));
  
  function _liftFlatVariant(meta) {
    const {
      caseMetas,
      variantSize32,
      variantAlign32,
      variantPayloadOffset32,
      variantFlatCount,
      variantPayloadFlatTypes,
      isEnum,
    } = meta;
    
    return function _liftFlatVariantInner(ctx) {
      _debugLog('[_liftFlatVariant()] args', { ctx });
      const origUseParams = ctx.useDirectParams;
      
      let caseIdx;
      let liftRes;
      const originalPtr = ctx.storagePtr;
      const numCases =  caseMetas.length;
      if (caseMetas.length < 256) {
        liftRes = _liftFlatU8(ctx);
      } else if (numCases >= 256 && numCases < 65536) {
        liftRes = _liftFlatU16(ctx);
      } else if (numCases >= 65536 && numCases < 4_294_967_296) {
        liftRes = _liftFlatU32(ctx);
      } else {
        throw new Error(`unsupported number of variant cases [${numCases}]`);
      }
      caseIdx = liftRes[0];
      ctx = liftRes[1];
      
      const [
      tag,
      liftFn,
      caseSize32,
      caseAlign32,
      caseFlatCount,
      caseFlatTypes,
      ] = caseMetas[caseIdx];
      
      if (variantPayloadOffset32 === undefined) {
        throw new Error('unexpectedly missing payload offset');
      }
      
      if (originalPtr !== undefined) {
        ctx.storagePtr = originalPtr + variantPayloadOffset32;
      }
      
      let val;
      if (liftFn === null) {
        val = { tag };
        // NOTE: here we need to move past the entire object in memory
        // despite moving to the payload which we now know is missing/unnecessary
        if (originalPtr !== undefined) {
          ctx.storagePtr = originalPtr + variantSize32;
        }
      } else {
        // When lifting from direct params, the payload arrives as the
        // *join* of all case flat representations: each slot whose
        // joined core type differs from the selected case's core type
        // must be reinterpreted before the payload lift
        // (see CanonicalABI `lift_flat_variant`)
        if (ctx.useDirectParams) {
          if (!variantPayloadFlatTypes || !caseFlatTypes) {
            throw new Error('missing variant flat type metadata during direct-param lift');
          }
          const scratch = _liftFlatVariantScratch;
          for (let i = 0; i < caseFlatTypes.length; i++) {
            const have = variantPayloadFlatTypes[i];
            const want = caseFlatTypes[i];
            if (have === want) { continue; }
            const val = ctx.params[i];
            if (have === 'i64' && want === 'i32') {
              ctx.params[i] = Number(BigInt.asIntN(32, val));
            } else if (have === 'i64' && want === 'f32') {
              scratch.setInt32(0, Number(BigInt.asIntN(32, val)), true);
              ctx.params[i] = scratch.getFloat32(0, true);
            } else if (have === 'i64' && want === 'f64') {
              scratch.setBigInt64(0, val, true);
              ctx.params[i] = scratch.getFloat64(0, true);
            } else if (have === 'i32' && want === 'f32') {
              scratch.setInt32(0, val, true);
              ctx.params[i] = scratch.getFloat32(0, true);
            } else {
              throw new Error(`invalid variant payload coercion [${have}] -> [${want}]`);
            }
          }
        }
        
        const [newVal, newCtx] = liftFn(ctx);
        val = { tag, val: newVal };
        ctx = newCtx;
      }
      
      if (origUseParams) {
        if (variantFlatCount === undefined || variantFlatCount === null) {
          _debugLog('[_liftFlatVariant()] variant with unknown flat count', { ctx, meta });
          throw new Error('cannot lift variant with unknown flat count');
        }
        if (caseFlatCount === undefined || caseFlatCount === null) {
          _debugLog('[_liftFlatVariant()] case with unknown flat count', { ctx, meta, case: meta.caseMetas[caseIdx] });
          throw new Error('cannot lift case with unknown flat count');
        }
        // NOTE: enums can be tightly packed and do not have a descriminant
        const remainingPayloadParams = variantFlatCount - caseFlatCount - (isEnum ? 0 : 1);
        if (remainingPayloadParams < 0) {
          throw new Error(`invalid variant flat count metadata`);
        }
        if (ctx.params.length < remainingPayloadParams) {
          throw new Error(`expected at least [${remainingPayloadParams}] remaining variant payload params, but got [${ctx.params.length}]`);
        }
        ctx.params = ctx.params.slice(remainingPayloadParams);
      }
      
      if (ctx.storagePtr !== undefined) {
        const rem = ctx.storagePtr % variantAlign32;
        if (rem !== 0) { ctx.storagePtr += variantAlign32 - rem; }
      }
      
      return [val, ctx];
    }
  }
  
  function _liftFlatList(meta) {
    const { elemLiftFn, elemSize32, elemAlign32, knownLen, typedArray } = meta;
    
    const listValue =
    typedArray === undefined
    ? values => values
    : values => new typedArray(values);
    
    const readValuesAndReset = (ctx, originalPtr, originalLen, dataPtr, len) => {
      if (dataPtr % elemAlign32 !== 0) {
        throw new TypeError(`list pointer [${dataPtr}] is not aligned to ${elemAlign32}`);
      }
      ctx.storagePtr = dataPtr;
      const val = [];
      for (var i = 0; i < len; i++) {
        const elemPtr = dataPtr + i * elemSize32;
        ctx.storagePtr = elemPtr;
        const [res, nextCtx] = elemLiftFn(ctx);
        val.push(res);
        ctx = nextCtx;
        
        ctx.storagePtr = Math.max(ctx.storagePtr, elemPtr + elemSize32);
      }
      if (originalPtr !== null) { ctx.storagePtr = originalPtr; }
      if (originalLen !== null) { ctx.storageLen = originalLen; }
      return [listValue(val), ctx];
    };
    
    return function _liftFlatListInner(ctx) {
      _debugLog('[_liftFlatList()] args', { ctx });
      
      let liftResults;
      if (knownLen !== undefined) { // list with known length
      if (ctx.useDirectParams) {
        _debugLog('memory unexpectedly missing while lifting unknown length list', { ctx });
        liftResults = [listValue(ctx.params.slice(0, knownLen)), ctx];
        ctx.params = ctx.params.slice(knownLen);
      } else { // indirect params
      if (ctx.memory === null) {
        _debugLog('memory unexpectedly missing while lifting known length list', { knownLen, ctx });
        throw new Error(`memory missing while lifting known length (${knownLen}) list`);
      }
      
      const originalLen = ctx.storageLen;
      const originalPtr = ctx.storagePtr;
      
      ctx.storageLen = knownLen * elemSize32;
      liftResults = readValuesAndReset(ctx, null, originalLen, ctx.storagePtr, knownLen);
    }
    
  } else { // unknown length list
  
  if (ctx.useDirectParams) {
    // unknown length list ptr w/ direct params
    const dataPtr = ctx.params[0];
    const len = ctx.params[1];
    ctx.params = ctx.params.slice(2);
    
    ctx.useDirectParams = false;
    const originalPtr = ctx.storagePtr;
    const originalLen = ctx.storageLen;
    ctx.storageLen = len * elemSize32;
    
    liftResults = readValuesAndReset(ctx, originalPtr, originalLen, dataPtr, len);
    
    ctx.useDirectParams = true;
  } else {
    // unknown length list ptr w/ in-memory params
    const originalLen = ctx.storageLen;
    ctx.storageLen = 8;
    
    const dataPtrLiftRes = _liftFlatU32(ctx);
    const dataPtr = dataPtrLiftRes[0];
    ctx = dataPtrLiftRes[1];
    
    const lenLiftRes = _liftFlatU32(ctx);
    const len = lenLiftRes[0];
    ctx = lenLiftRes[1];
    
    const originalPtr = ctx.storagePtr;
    ctx.storagePtr = dataPtr;
    
    ctx.storageLen = len * elemSize32;
    liftResults = readValuesAndReset(ctx, originalPtr, originalLen, dataPtr, len);
  }
}

return liftResults;
}
}

function _liftFlatEnum(meta) {
  meta.isEnum = true;
  const f = _liftFlatVariant(meta);
  return function _liftFlatEnumInner(ctx) {
    _debugLog('[_liftFlatEnum()] args', { ctx });
    const res = f(ctx);
    res[0] = res[0].tag;
    return res;
  }
}

function _liftFlatOption(meta) {
  const { payloadMaybeNull } = meta;
  const f = _liftFlatVariant(meta);
  return function _liftFlatOptionInner(ctx) {
    _debugLog('[_liftFlatOption()] args', { ctx });
    const res = f(ctx);
    if (!payloadMaybeNull) {
      res[0] = res[0].tag === 'none' ? undefined : res[0].val;
    }
    return res;
  }
}

function _lowerFlatU64(ctx) {
  _debugLog('[_lowerFlatU64()] args', { ctx });
  
  if (ctx.vals.length !== 1) { throw new Error('unexpected number of vals'); }
  
  const rem = ctx.storagePtr % 8;
  if (rem !== 0) { ctx.storagePtr += (8 - rem); }
  
  _requireValidNumericPrimitive.bind('u64', ctx.vals[0]);
  new DataView(ctx.memory.buffer).setBigUint64(ctx.storagePtr, ctx.vals[0], true);
  
  ctx.storagePtr += 8;
}

function _trackHostOperation(operation) {
  const result = operation();
  if (result === null ||
  (typeof result !== 'object' && typeof result !== 'function') ||
  typeof result.then !== 'function') {
    return result;
  }
  
  STORE_ASYNC_STATE.pendingHostOperations++;
  return Promise.resolve(result).finally(() => {
    STORE_ASYNC_STATE.pendingHostOperations--;
    if (STORE_ASYNC_STATE.pendingHostOperations < 0) {
      throw new Error('negative pending host operation count');
    }
    for (const state of ASYNC_STATE.values()) { state.runTickLoop(); }
    _checkForDeadlock();
  });
}

function _guardMayLeave(componentIdx, fn) {
  return function (...args) {
    _checkMayLeave(componentIdx);
    return fn.apply(this, args);
  };
}

const symbolRscHandle = Symbol('handle');
const symbolDispose = Symbol.dispose || Symbol.for('dispose');

const HANDLE_TABLES= [];


function finalizationRegistryCreate (unregister) {
  if (typeof FinalizationRegistry === 'undefined') {
    return { unregister () {} };
  }
  return new FinalizationRegistry(unregister);
}

class ComponentError extends Error {
  constructor (value) {
    const enumerable = typeof value !== 'string';
    super(enumerable ? `${String(value)} (see error.payload)` : value);
    Object.defineProperty(this, 'payload', { value, enumerable });
  }
}

function throwInvalidBool() {
  throw new TypeError('invalid variant discriminant for bool');
}

function _suspendingImport(componentIdx, fn, syncOnly = false, switchesTask = false) {
  return function (...args) {
    _checkMayLeave(componentIdx);
    const saved = CURRENT_TASK_META[componentIdx] ?? null;
    
    const savedTask = saved
    ? getCurrentTask(saved.componentIdx, saved.taskID)?.task
    : null;
    const mayBlock = savedTask
    ? (savedTask?.mayBlock() ?? (CURRENT_TASK_MAY_BLOCK.value !== 0))
    : false;
    if (!saved && !mayBlock) {
      throw new WebAssemblyRuntimeError('cannot block a synchronous task before returning');
    }
    
    if (syncOnly || !mayBlock) {
      let result;
      try {
        result = fn.apply(null, args);
      } catch (err) {
        CURRENT_TASK_META[componentIdx] = saved;
        if (!switchesTask) { CURRENT_TASK_META.current = saved; }
        throw err;
      }
      
      CURRENT_TASK_META[componentIdx] = saved;
      if (!switchesTask) { CURRENT_TASK_META.current = saved; }
      
      if (result !== null &&
      (typeof result === 'object' || typeof result === 'function') &&
      typeof result.then === 'function') {
        // The helper may already have returned a rejected promise.
        // Mark it handled before replacing it with the canonical
        // synchronous-task trap.
        Promise.resolve(result).catch(() => {});
        throw new WebAssemblyRuntimeError('cannot block a synchronous task before returning');
      }
      return result;
    }
    
    return (async () => {
      try {
        return await fn.apply(null, args);
      } finally {
        CURRENT_TASK_META[componentIdx] = saved;
        if (!switchesTask) { CURRENT_TASK_META.current = saved; }
      }
    })();
  };
}


const module0 = getCoreModule('tether.core.wasm');
const module1 = getCoreModule('tether.core2.wasm');
const module2 = getCoreModule('tether.core3.wasm');

const { renew } = imports['tether:reconnect/credentials'];

if (renew=== undefined) {
  const err = new Error("unexpectedly undefined instance import 'renew', was 'renew' available at instantiation?");
  console.error("ERROR:", err.toString());
  throw err;
}

const { decided, messageOutcome, statusChanged, wakeAt } = imports['tether:reconnect/events'];

if (decided=== undefined) {
  const err = new Error("unexpectedly undefined instance import 'decided', was 'decided' available at instantiation?");
  console.error("ERROR:", err.toString());
  throw err;
}


if (messageOutcome=== undefined) {
  const err = new Error("unexpectedly undefined instance import 'messageOutcome', was 'messageOutcome' available at instantiation?");
  console.error("ERROR:", err.toString());
  throw err;
}


if (statusChanged=== undefined) {
  const err = new Error("unexpectedly undefined instance import 'statusChanged', was 'statusChanged' available at instantiation?");
  console.error("ERROR:", err.toString());
  throw err;
}


if (wakeAt=== undefined) {
  const err = new Error("unexpectedly undefined instance import 'wakeAt', was 'wakeAt' available at instantiation?");
  console.error("ERROR:", err.toString());
  throw err;
}

const { poll, register } = imports['tether:reconnect/provisioning'];

if (poll=== undefined) {
  const err = new Error("unexpectedly undefined instance import 'poll', was 'poll' available at instantiation?");
  console.error("ERROR:", err.toString());
  throw err;
}


if (register=== undefined) {
  const err = new Error("unexpectedly undefined instance import 'register', was 'register' available at instantiation?");
  console.error("ERROR:", err.toString());
  throw err;
}

const { close, open, send } = imports['tether:reconnect/transport'];

if (close=== undefined) {
  const err = new Error("unexpectedly undefined instance import 'close', was 'close' available at instantiation?");
  console.error("ERROR:", err.toString());
  throw err;
}


if (open=== undefined) {
  const err = new Error("unexpectedly undefined instance import 'open', was 'open' available at instantiation?");
  console.error("ERROR:", err.toString());
  throw err;
}


if (send=== undefined) {
  const err = new Error("unexpectedly undefined instance import 'send', was 'send' available at instantiation?");
  console.error("ERROR:", err.toString());
  throw err;
}

const { now } = imports['wasi:clocks/monotonic-clock'];

if (now=== undefined) {
  const err = new Error("unexpectedly undefined instance import 'now', was 'now' available at instantiation?");
  console.error("ERROR:", err.toString());
  throw err;
}

const { getRandomU64 } = imports['wasi:random/random'];

if (getRandomU64=== undefined) {
  const err = new Error("unexpectedly undefined instance import 'getRandomU64', was 'getRandomU64' available at instantiation?");
  console.error("ERROR:", err.toString());
  throw err;
}

let gen= (function* _initGenerator () {
  const instanceFlags0 = new WebAssembly.Global({ value: "i32", mutable: true }, 1);
  INSTANCE_FLAGS.set(0, instanceFlags0);
  let exports0;
  
  const _trampoline2 = function(arg0) {
    _debugLog('[iface="tether:reconnect/transport@0.1.0", function="close"] [Instruction::CallInterface] (sync, @ enter)');
    const hostProvided = true;
    
    let parentTask;
    let task;
    let subtask;
    
    const createTask = () => {
      const results = createNewCurrentTask({
        componentIdx: -1,
        isAsync: false,
        entryFnName: 'close',
        getCallbackFn: () => null,
        callbackFnName: null,
        errHandling: 'none',
        callingWasmExport: false,
      });
      task = results[0];
    };
    
    taskCreation: {
      parentTask = getCurrentTask(
      0,
      _getGlobalCurrentTaskMeta(0)?.taskID,
      )?.task;
      
      if (!parentTask) {
        createTask();
        break taskCreation;
      }
      
      createTask();
      
      if (hostProvided) {
        subtask = parentTask.getLatestSubtask();
        if (!subtask) {
          throw new Error(`Missing subtask (in parent task [${parentTask.id()}]) for host import, has the import been lowered? (ensure asyncImports are set properly)`);
        }
        task.setParentSubtask(subtask);
      }
    }
    
    const started = task.enterSync();
    let ret;
    
    
    try {
      _withGlobalCurrentTaskMeta({
        componentIdx: task.componentIdx(),
        taskID: task.id(),
        fn: () => _trackHostOperation(() => close(BigInt.asUintN(64, BigInt(arg0)))),
      })
      ;
    } catch (err) {
      
      _debugLog('[Instruction::CallInterface] error during sync call', {
        taskID: task.id(),
        subtaskID: task.getParentSubtask()?.id(),
        err,
      });
      getOrCreateAsyncState(0).markTrapped(err);
      task.setErrored(err);
      task.reject(err);
      task.exit();
      throw err;
      
    }
    
    _debugLog('[iface="tether:reconnect/transport@0.1.0", function="close"][Instruction::Return]', {
      funcName: 'close',
      paramCount: 0,
      async: false,
      postReturn: false
    });
    task.resolve([ret]);
    task.exit();
  }
  _trampoline2.fnName = 'tether:reconnect/transport@0.1.0#close';
  
  const _trampoline3 = function() {
    _debugLog('[iface="tether:reconnect/provisioning@0.1.0", function="register"] [Instruction::CallInterface] (sync, @ enter)');
    const hostProvided = true;
    
    let parentTask;
    let task;
    let subtask;
    
    const createTask = () => {
      const results = createNewCurrentTask({
        componentIdx: -1,
        isAsync: false,
        entryFnName: 'register',
        getCallbackFn: () => null,
        callbackFnName: null,
        errHandling: 'none',
        callingWasmExport: false,
      });
      task = results[0];
    };
    
    taskCreation: {
      parentTask = getCurrentTask(
      0,
      _getGlobalCurrentTaskMeta(0)?.taskID,
      )?.task;
      
      if (!parentTask) {
        createTask();
        break taskCreation;
      }
      
      createTask();
      
      if (hostProvided) {
        subtask = parentTask.getLatestSubtask();
        if (!subtask) {
          throw new Error(`Missing subtask (in parent task [${parentTask.id()}]) for host import, has the import been lowered? (ensure asyncImports are set properly)`);
        }
        task.setParentSubtask(subtask);
      }
    }
    
    const started = task.enterSync();
    let ret;
    
    
    try {
      _withGlobalCurrentTaskMeta({
        componentIdx: task.componentIdx(),
        taskID: task.id(),
        fn: () => _trackHostOperation(() => register()),
      })
      ;
    } catch (err) {
      
      _debugLog('[Instruction::CallInterface] error during sync call', {
        taskID: task.id(),
        subtaskID: task.getParentSubtask()?.id(),
        err,
      });
      getOrCreateAsyncState(0).markTrapped(err);
      task.setErrored(err);
      task.reject(err);
      task.exit();
      throw err;
      
    }
    
    _debugLog('[iface="tether:reconnect/provisioning@0.1.0", function="register"][Instruction::Return]', {
      funcName: 'register',
      paramCount: 0,
      async: false,
      postReturn: false
    });
    task.resolve([ret]);
    task.exit();
  }
  _trampoline3.fnName = 'tether:reconnect/provisioning@0.1.0#register';
  
  const _trampoline4 = function() {
    _debugLog('[iface="tether:reconnect/credentials@0.1.0", function="renew"] [Instruction::CallInterface] (sync, @ enter)');
    const hostProvided = true;
    
    let parentTask;
    let task;
    let subtask;
    
    const createTask = () => {
      const results = createNewCurrentTask({
        componentIdx: -1,
        isAsync: false,
        entryFnName: 'renew',
        getCallbackFn: () => null,
        callbackFnName: null,
        errHandling: 'none',
        callingWasmExport: false,
      });
      task = results[0];
    };
    
    taskCreation: {
      parentTask = getCurrentTask(
      0,
      _getGlobalCurrentTaskMeta(0)?.taskID,
      )?.task;
      
      if (!parentTask) {
        createTask();
        break taskCreation;
      }
      
      createTask();
      
      if (hostProvided) {
        subtask = parentTask.getLatestSubtask();
        if (!subtask) {
          throw new Error(`Missing subtask (in parent task [${parentTask.id()}]) for host import, has the import been lowered? (ensure asyncImports are set properly)`);
        }
        task.setParentSubtask(subtask);
      }
    }
    
    const started = task.enterSync();
    let ret;
    
    
    try {
      _withGlobalCurrentTaskMeta({
        componentIdx: task.componentIdx(),
        taskID: task.id(),
        fn: () => _trackHostOperation(() => renew()),
      })
      ;
    } catch (err) {
      
      _debugLog('[Instruction::CallInterface] error during sync call', {
        taskID: task.id(),
        subtaskID: task.getParentSubtask()?.id(),
        err,
      });
      getOrCreateAsyncState(0).markTrapped(err);
      task.setErrored(err);
      task.reject(err);
      task.exit();
      throw err;
      
    }
    
    _debugLog('[iface="tether:reconnect/credentials@0.1.0", function="renew"][Instruction::Return]', {
      funcName: 'renew',
      paramCount: 0,
      async: false,
      postReturn: false
    });
    task.resolve([ret]);
    task.exit();
  }
  _trampoline4.fnName = 'tether:reconnect/credentials@0.1.0#renew';
  
  const _trampoline5 = function(arg0, arg1, arg2) {
    let enum0;
    switch (arg1) {
      case 0: {
        enum0 = 'connected';
        break;
      }
      case 1: {
        enum0 = 'disconnected-retrying';
        break;
      }
      case 2: {
        enum0 = 'disconnected';
        break;
      }
      case 3: {
        enum0 = 'disabled';
        break;
      }
      default: {
        throw new TypeError('invalid discriminant specified for Status');
      }
    }
    let enum1;
    switch (arg2) {
      case 0: {
        enum1 = 'connection-ok';
        break;
      }
      case 1: {
        enum1 = 'credential-renewal';
        break;
      }
      case 2: {
        enum1 = 'expired-credential';
        break;
      }
      case 3: {
        enum1 = 'bad-credential';
        break;
      }
      case 4: {
        enum1 = 'device-disabled';
        break;
      }
      case 5: {
        enum1 = 'device-not-found';
        break;
      }
      case 6: {
        enum1 = 'retry-expired';
        break;
      }
      case 7: {
        enum1 = 'no-network';
        break;
      }
      case 8: {
        enum1 = 'communication-error';
        break;
      }
      case 9: {
        enum1 = 'no-ping-response';
        break;
      }
      case 10: {
        enum1 = 'quota-exceeded';
        break;
      }
      case 11: {
        enum1 = 'throttled';
        break;
      }
      case 12: {
        enum1 = 'server-busy';
        break;
      }
      case 13: {
        enum1 = 'server-moved';
        break;
      }
      case 14: {
        enum1 = 'provisioning';
        break;
      }
      case 15: {
        enum1 = 'protocol-error';
        break;
      }
      case 16: {
        enum1 = 'bad-endpoint';
        break;
      }
      case 17: {
        enum1 = 'session-taken-over';
        break;
      }
      case 18: {
        enum1 = 'client-close';
        break;
      }
      default: {
        throw new TypeError('invalid discriminant specified for Reason');
      }
    }
    _debugLog('[iface="tether:reconnect/events@0.1.0", function="status-changed"] [Instruction::CallInterface] (sync, @ enter)');
    const hostProvided = true;
    
    let parentTask;
    let task;
    let subtask;
    
    const createTask = () => {
      const results = createNewCurrentTask({
        componentIdx: -1,
        isAsync: false,
        entryFnName: 'statusChanged',
        getCallbackFn: () => null,
        callbackFnName: null,
        errHandling: 'none',
        callingWasmExport: false,
      });
      task = results[0];
    };
    
    taskCreation: {
      parentTask = getCurrentTask(
      0,
      _getGlobalCurrentTaskMeta(0)?.taskID,
      )?.task;
      
      if (!parentTask) {
        createTask();
        break taskCreation;
      }
      
      createTask();
      
      if (hostProvided) {
        subtask = parentTask.getLatestSubtask();
        if (!subtask) {
          throw new Error(`Missing subtask (in parent task [${parentTask.id()}]) for host import, has the import been lowered? (ensure asyncImports are set properly)`);
        }
        task.setParentSubtask(subtask);
      }
    }
    
    const started = task.enterSync();
    let ret;
    
    
    try {
      _withGlobalCurrentTaskMeta({
        componentIdx: task.componentIdx(),
        taskID: task.id(),
        fn: () => _trackHostOperation(() => statusChanged({
          at: BigInt.asUintN(64, BigInt(arg0)),
          status: enum0,
          reason: enum1,
        })),
      })
      ;
    } catch (err) {
      
      _debugLog('[Instruction::CallInterface] error during sync call', {
        taskID: task.id(),
        subtaskID: task.getParentSubtask()?.id(),
        err,
      });
      getOrCreateAsyncState(0).markTrapped(err);
      task.setErrored(err);
      task.reject(err);
      task.exit();
      throw err;
      
    }
    
    _debugLog('[iface="tether:reconnect/events@0.1.0", function="status-changed"][Instruction::Return]', {
      funcName: 'status-changed',
      paramCount: 0,
      async: false,
      postReturn: false
    });
    task.resolve([ret]);
    task.exit();
  }
  _trampoline5.fnName = 'tether:reconnect/events@0.1.0#statusChanged';
  
  const _trampoline6 = function(arg0, arg1, arg2) {
    let variant1;
    switch (arg1) {
      case 0: {
        variant1= {
          tag: 'delivered',
        };
        break;
      }
      case 1: {
        let enum0;
        switch (arg2) {
          case 0: {
            enum0 = 'operation-timeout';
            break;
          }
          case 1: {
            enum0 = 'no-retry';
            break;
          }
          case 2: {
            enum0 = 'queue-full';
            break;
          }
          case 3: {
            enum0 = 'unrecoverable';
            break;
          }
          case 4: {
            enum0 = 'retry-expired';
            break;
          }
          case 5: {
            enum0 = 'client-close';
            break;
          }
          default: {
            throw new TypeError('invalid discriminant specified for MessageFailure');
          }
        }
        variant1= {
          tag: 'failed',
          val: enum0
        };
        break;
      }
      default: {
        throw new TypeError('invalid variant discriminant for Outcome');
      }
    }
    _debugLog('[iface="tether:reconnect/events@0.1.0", function="message-outcome"] [Instruction::CallInterface] (sync, @ enter)');
    const hostProvided = true;
    
    let parentTask;
    let task;
    let subtask;
    
    const createTask = () => {
      const results = createNewCurrentTask({
        componentIdx: -1,
        isAsync: false,
        entryFnName: 'messageOutcome',
        getCallbackFn: () => null,
        callbackFnName: null,
        errHandling: 'none',
        callingWasmExport: false,
      });
      task = results[0];
    };
    
    taskCreation: {
      parentTask = getCurrentTask(
      0,
      _getGlobalCurrentTaskMeta(0)?.taskID,
      )?.task;
      
      if (!parentTask) {
        createTask();
        break taskCreation;
      }
      
      createTask();
      
      if (hostProvided) {
        subtask = parentTask.getLatestSubtask();
        if (!subtask) {
          throw new Error(`Missing subtask (in parent task [${parentTask.id()}]) for host import, has the import been lowered? (ensure asyncImports are set properly)`);
        }
        task.setParentSubtask(subtask);
      }
    }
    
    const started = task.enterSync();
    let ret;
    
    
    try {
      _withGlobalCurrentTaskMeta({
        componentIdx: task.componentIdx(),
        taskID: task.id(),
        fn: () => _trackHostOperation(() => messageOutcome(BigInt.asUintN(64, BigInt(arg0)), variant1)),
      })
      ;
    } catch (err) {
      
      _debugLog('[Instruction::CallInterface] error during sync call', {
        taskID: task.id(),
        subtaskID: task.getParentSubtask()?.id(),
        err,
      });
      getOrCreateAsyncState(0).markTrapped(err);
      task.setErrored(err);
      task.reject(err);
      task.exit();
      throw err;
      
    }
    
    _debugLog('[iface="tether:reconnect/events@0.1.0", function="message-outcome"][Instruction::Return]', {
      funcName: 'message-outcome',
      paramCount: 0,
      async: false,
      postReturn: false
    });
    task.resolve([ret]);
    task.exit();
  }
  _trampoline6.fnName = 'tether:reconnect/events@0.1.0#messageOutcome';
  
  const _trampoline7 = function(arg0) {
    _debugLog('[iface="tether:reconnect/events@0.1.0", function="wake-at"] [Instruction::CallInterface] (sync, @ enter)');
    const hostProvided = true;
    
    let parentTask;
    let task;
    let subtask;
    
    const createTask = () => {
      const results = createNewCurrentTask({
        componentIdx: -1,
        isAsync: false,
        entryFnName: 'wakeAt',
        getCallbackFn: () => null,
        callbackFnName: null,
        errHandling: 'none',
        callingWasmExport: false,
      });
      task = results[0];
    };
    
    taskCreation: {
      parentTask = getCurrentTask(
      0,
      _getGlobalCurrentTaskMeta(0)?.taskID,
      )?.task;
      
      if (!parentTask) {
        createTask();
        break taskCreation;
      }
      
      createTask();
      
      if (hostProvided) {
        subtask = parentTask.getLatestSubtask();
        if (!subtask) {
          throw new Error(`Missing subtask (in parent task [${parentTask.id()}]) for host import, has the import been lowered? (ensure asyncImports are set properly)`);
        }
        task.setParentSubtask(subtask);
      }
    }
    
    const started = task.enterSync();
    let ret;
    
    
    try {
      _withGlobalCurrentTaskMeta({
        componentIdx: task.componentIdx(),
        taskID: task.id(),
        fn: () => _trackHostOperation(() => wakeAt(BigInt.asUintN(64, BigInt(arg0)))),
      })
      ;
    } catch (err) {
      
      _debugLog('[Instruction::CallInterface] error during sync call', {
        taskID: task.id(),
        subtaskID: task.getParentSubtask()?.id(),
        err,
      });
      getOrCreateAsyncState(0).markTrapped(err);
      task.setErrored(err);
      task.reject(err);
      task.exit();
      throw err;
      
    }
    
    _debugLog('[iface="tether:reconnect/events@0.1.0", function="wake-at"][Instruction::Return]', {
      funcName: 'wake-at',
      paramCount: 0,
      async: false,
      postReturn: false
    });
    task.resolve([ret]);
    task.exit();
  }
  _trampoline7.fnName = 'tether:reconnect/events@0.1.0#wakeAt';
  
  const _trampoline10 = function() {
    _debugLog('[iface="wasi:clocks/monotonic-clock@0.2.12", function="now"] [Instruction::CallInterface] (sync, @ enter)');
    const hostProvided = true;
    
    let parentTask;
    let task;
    let subtask;
    
    const createTask = () => {
      const results = createNewCurrentTask({
        componentIdx: -1,
        isAsync: false,
        entryFnName: 'now',
        getCallbackFn: () => null,
        callbackFnName: null,
        errHandling: 'none',
        callingWasmExport: false,
      });
      task = results[0];
    };
    
    taskCreation: {
      parentTask = getCurrentTask(
      0,
      _getGlobalCurrentTaskMeta(0)?.taskID,
      )?.task;
      
      if (!parentTask) {
        createTask();
        break taskCreation;
      }
      
      createTask();
      
      if (hostProvided) {
        subtask = parentTask.getLatestSubtask();
        if (!subtask) {
          throw new Error(`Missing subtask (in parent task [${parentTask.id()}]) for host import, has the import been lowered? (ensure asyncImports are set properly)`);
        }
        task.setParentSubtask(subtask);
      }
    }
    
    const started = task.enterSync();
    let ret;
    
    
    try {
      ret = _withGlobalCurrentTaskMeta({
        componentIdx: task.componentIdx(),
        taskID: task.id(),
        fn: () => _trackHostOperation(() => now()),
      })
      ;
    } catch (err) {
      
      _debugLog('[Instruction::CallInterface] error during sync call', {
        taskID: task.id(),
        subtaskID: task.getParentSubtask()?.id(),
        err,
      });
      getOrCreateAsyncState(0).markTrapped(err);
      task.setErrored(err);
      task.reject(err);
      task.exit();
      throw err;
      
    }
    
    _debugLog('[iface="wasi:clocks/monotonic-clock@0.2.12", function="now"][Instruction::Return]', {
      funcName: 'now',
      paramCount: 1,
      async: false,
      postReturn: false
    });
    task.resolve([toUint64(ret)]);
    task.exit();
    return toUint64(ret);
  }
  _trampoline10.fnName = 'wasi:clocks/monotonic-clock@0.2.12#now';
  
  const _trampoline11 = function() {
    _debugLog('[iface="wasi:random/random@0.2.12", function="get-random-u64"] [Instruction::CallInterface] (sync, @ enter)');
    const hostProvided = true;
    
    let parentTask;
    let task;
    let subtask;
    
    const createTask = () => {
      const results = createNewCurrentTask({
        componentIdx: -1,
        isAsync: false,
        entryFnName: 'getRandomU64',
        getCallbackFn: () => null,
        callbackFnName: null,
        errHandling: 'none',
        callingWasmExport: false,
      });
      task = results[0];
    };
    
    taskCreation: {
      parentTask = getCurrentTask(
      0,
      _getGlobalCurrentTaskMeta(0)?.taskID,
      )?.task;
      
      if (!parentTask) {
        createTask();
        break taskCreation;
      }
      
      createTask();
      
      if (hostProvided) {
        subtask = parentTask.getLatestSubtask();
        if (!subtask) {
          throw new Error(`Missing subtask (in parent task [${parentTask.id()}]) for host import, has the import been lowered? (ensure asyncImports are set properly)`);
        }
        task.setParentSubtask(subtask);
      }
    }
    
    const started = task.enterSync();
    let ret;
    
    
    try {
      ret = _withGlobalCurrentTaskMeta({
        componentIdx: task.componentIdx(),
        taskID: task.id(),
        fn: () => _trackHostOperation(() => getRandomU64()),
      })
      ;
    } catch (err) {
      
      _debugLog('[Instruction::CallInterface] error during sync call', {
        taskID: task.id(),
        subtaskID: task.getParentSubtask()?.id(),
        err,
      });
      getOrCreateAsyncState(0).markTrapped(err);
      task.setErrored(err);
      task.reject(err);
      task.exit();
      throw err;
      
    }
    
    _debugLog('[iface="wasi:random/random@0.2.12", function="get-random-u64"][Instruction::Return]', {
      funcName: 'get-random-u64',
      paramCount: 1,
      async: false,
      postReturn: false
    });
    task.resolve([toUint64(ret)]);
    task.exit();
    return toUint64(ret);
  }
  _trampoline11.fnName = 'wasi:random/random@0.2.12#getRandomU64';
  let exports1;
  let memory0;
  
  const _trampoline12 = function(arg0, arg1, arg2, arg3, arg4, arg5, arg6, arg7, arg8) {
    var ptr0 = arg1;
    var len0 = arg2;
    var result0 = TEXT_DECODER_UTF8.decode(new Uint8Array(memory0.buffer, ptr0, len0));
    let variant2;
    switch (arg3) {
      case 0: {
        variant2 = undefined;
        break;
      }
      case 1: {
        var ptr1 = arg4;
        var len1 = arg5;
        var result1 = TEXT_DECODER_UTF8.decode(new Uint8Array(memory0.buffer, ptr1, len1));
        variant2 = result1;
        break;
      }
      default: {
        throw new TypeError('invalid variant discriminant for option');
      }
    }
    let variant4;
    switch (arg6) {
      case 0: {
        variant4 = undefined;
        break;
      }
      case 1: {
        var ptr3 = arg7;
        var len3 = arg8;
        var result3 = TEXT_DECODER_UTF8.decode(new Uint8Array(memory0.buffer, ptr3, len3));
        variant4 = result3;
        break;
      }
      default: {
        throw new TypeError('invalid variant discriminant for option');
      }
    }
    _debugLog('[iface="tether:reconnect/transport@0.1.0", function="open"] [Instruction::CallInterface] (sync, @ enter)');
    const hostProvided = true;
    
    let parentTask;
    let task;
    let subtask;
    
    const createTask = () => {
      const results = createNewCurrentTask({
        componentIdx: -1,
        isAsync: false,
        entryFnName: 'open',
        getCallbackFn: () => null,
        callbackFnName: null,
        errHandling: 'none',
        callingWasmExport: false,
      });
      task = results[0];
    };
    
    taskCreation: {
      parentTask = getCurrentTask(
      0,
      _getGlobalCurrentTaskMeta(0)?.taskID,
      )?.task;
      
      if (!parentTask) {
        createTask();
        break taskCreation;
      }
      
      createTask();
      
      if (hostProvided) {
        subtask = parentTask.getLatestSubtask();
        if (!subtask) {
          throw new Error(`Missing subtask (in parent task [${parentTask.id()}]) for host import, has the import been lowered? (ensure asyncImports are set properly)`);
        }
        task.setParentSubtask(subtask);
      }
    }
    
    const started = task.enterSync();
    let ret;
    
    
    try {
      _withGlobalCurrentTaskMeta({
        componentIdx: task.componentIdx(),
        taskID: task.id(),
        fn: () => _trackHostOperation(() => open(BigInt.asUintN(64, BigInt(arg0)), result0, variant2, variant4)),
      })
      ;
    } catch (err) {
      
      _debugLog('[Instruction::CallInterface] error during sync call', {
        taskID: task.id(),
        subtaskID: task.getParentSubtask()?.id(),
        err,
      });
      getOrCreateAsyncState(0).markTrapped(err);
      task.setErrored(err);
      task.reject(err);
      task.exit();
      throw err;
      
    }
    
    _debugLog('[iface="tether:reconnect/transport@0.1.0", function="open"][Instruction::Return]', {
      funcName: 'open',
      paramCount: 0,
      async: false,
      postReturn: false
    });
    task.resolve([ret]);
    task.exit();
  }
  _trampoline12.fnName = 'tether:reconnect/transport@0.1.0#open';
  
  const _trampoline13 = function(arg0, arg1, arg2, arg3, arg4, arg5) {
    var ptr0 = arg2;
    var len0 = arg3;
    var result0 = TEXT_DECODER_UTF8.decode(new Uint8Array(memory0.buffer, ptr0, len0));
    var ptr1 = arg4;
    var len1 = arg5;
    if (ptr1 % 1 !== 0) throw new TypeError(`list pointer [${ptr1}] is not aligned to 1`);
    var result1 = new Uint8Array(memory0.buffer.slice(ptr1, ptr1 + len1 * 1));
    _debugLog('[iface="tether:reconnect/transport@0.1.0", function="send"] [Instruction::CallInterface] (sync, @ enter)');
    const hostProvided = true;
    
    let parentTask;
    let task;
    let subtask;
    
    const createTask = () => {
      const results = createNewCurrentTask({
        componentIdx: -1,
        isAsync: false,
        entryFnName: 'send',
        getCallbackFn: () => null,
        callbackFnName: null,
        errHandling: 'none',
        callingWasmExport: false,
      });
      task = results[0];
    };
    
    taskCreation: {
      parentTask = getCurrentTask(
      0,
      _getGlobalCurrentTaskMeta(0)?.taskID,
      )?.task;
      
      if (!parentTask) {
        createTask();
        break taskCreation;
      }
      
      createTask();
      
      if (hostProvided) {
        subtask = parentTask.getLatestSubtask();
        if (!subtask) {
          throw new Error(`Missing subtask (in parent task [${parentTask.id()}]) for host import, has the import been lowered? (ensure asyncImports are set properly)`);
        }
        task.setParentSubtask(subtask);
      }
    }
    
    const started = task.enterSync();
    let ret;
    
    
    try {
      _withGlobalCurrentTaskMeta({
        componentIdx: task.componentIdx(),
        taskID: task.id(),
        fn: () => _trackHostOperation(() => send(BigInt.asUintN(64, BigInt(arg0)), BigInt.asUintN(64, BigInt(arg1)), result0, result1)),
      })
      ;
    } catch (err) {
      
      _debugLog('[Instruction::CallInterface] error during sync call', {
        taskID: task.id(),
        subtaskID: task.getParentSubtask()?.id(),
        err,
      });
      getOrCreateAsyncState(0).markTrapped(err);
      task.setErrored(err);
      task.reject(err);
      task.exit();
      throw err;
      
    }
    
    _debugLog('[iface="tether:reconnect/transport@0.1.0", function="send"][Instruction::Return]', {
      funcName: 'send',
      paramCount: 0,
      async: false,
      postReturn: false
    });
    task.resolve([ret]);
    task.exit();
  }
  _trampoline13.fnName = 'tether:reconnect/transport@0.1.0#send';
  
  const _trampoline14 = function(arg0, arg1) {
    var ptr0 = arg0;
    var len0 = arg1;
    var result0 = TEXT_DECODER_UTF8.decode(new Uint8Array(memory0.buffer, ptr0, len0));
    _debugLog('[iface="tether:reconnect/provisioning@0.1.0", function="poll"] [Instruction::CallInterface] (sync, @ enter)');
    const hostProvided = true;
    
    let parentTask;
    let task;
    let subtask;
    
    const createTask = () => {
      const results = createNewCurrentTask({
        componentIdx: -1,
        isAsync: false,
        entryFnName: 'poll',
        getCallbackFn: () => null,
        callbackFnName: null,
        errHandling: 'none',
        callingWasmExport: false,
      });
      task = results[0];
    };
    
    taskCreation: {
      parentTask = getCurrentTask(
      0,
      _getGlobalCurrentTaskMeta(0)?.taskID,
      )?.task;
      
      if (!parentTask) {
        createTask();
        break taskCreation;
      }
      
      createTask();
      
      if (hostProvided) {
        subtask = parentTask.getLatestSubtask();
        if (!subtask) {
          throw new Error(`Missing subtask (in parent task [${parentTask.id()}]) for host import, has the import been lowered? (ensure asyncImports are set properly)`);
        }
        task.setParentSubtask(subtask);
      }
    }
    
    const started = task.enterSync();
    let ret;
    
    
    try {
      _withGlobalCurrentTaskMeta({
        componentIdx: task.componentIdx(),
        taskID: task.id(),
        fn: () => _trackHostOperation(() => poll(result0)),
      })
      ;
    } catch (err) {
      
      _debugLog('[Instruction::CallInterface] error during sync call', {
        taskID: task.id(),
        subtaskID: task.getParentSubtask()?.id(),
        err,
      });
      getOrCreateAsyncState(0).markTrapped(err);
      task.setErrored(err);
      task.reject(err);
      task.exit();
      throw err;
      
    }
    
    _debugLog('[iface="tether:reconnect/provisioning@0.1.0", function="poll"][Instruction::Return]', {
      funcName: 'poll',
      paramCount: 0,
      async: false,
      postReturn: false
    });
    task.resolve([ret]);
    task.exit();
  }
  _trampoline14.fnName = 'tether:reconnect/provisioning@0.1.0#poll';
  
  const _trampoline15 = function(arg0, arg1, arg2, arg3, arg4, arg5, arg6, arg7, arg8, arg9, arg10, arg11) {
    let variant4;
    switch (arg1) {
      case 0: {
        variant4 = undefined;
        break;
      }
      case 1: {
        let enum0;
        switch (arg2) {
          case 0: {
            enum0 = 'network';
            break;
          }
          case 1: {
            enum0 = 'protocol';
            break;
          }
          case 2: {
            enum0 = 'application';
            break;
          }
          default: {
            throw new TypeError('invalid discriminant specified for Level');
          }
        }
        let enum1;
        switch (arg3) {
          case 0: {
            enum1 = 'retry';
            break;
          }
          case 1: {
            enum1 = 'retry-throttled';
            break;
          }
          case 2: {
            enum1 = 'renew-credential';
            break;
          }
          case 3: {
            enum1 = 'reprovision';
            break;
          }
          case 4: {
            enum1 = 'fatal';
            break;
          }
          default: {
            throw new TypeError('invalid discriminant specified for Verdict');
          }
        }
        let enum2;
        switch (arg4) {
          case 0: {
            enum2 = 'connection-ok';
            break;
          }
          case 1: {
            enum2 = 'credential-renewal';
            break;
          }
          case 2: {
            enum2 = 'expired-credential';
            break;
          }
          case 3: {
            enum2 = 'bad-credential';
            break;
          }
          case 4: {
            enum2 = 'device-disabled';
            break;
          }
          case 5: {
            enum2 = 'device-not-found';
            break;
          }
          case 6: {
            enum2 = 'retry-expired';
            break;
          }
          case 7: {
            enum2 = 'no-network';
            break;
          }
          case 8: {
            enum2 = 'communication-error';
            break;
          }
          case 9: {
            enum2 = 'no-ping-response';
            break;
          }
          case 10: {
            enum2 = 'quota-exceeded';
            break;
          }
          case 11: {
            enum2 = 'throttled';
            break;
          }
          case 12: {
            enum2 = 'server-busy';
            break;
          }
          case 13: {
            enum2 = 'server-moved';
            break;
          }
          case 14: {
            enum2 = 'provisioning';
            break;
          }
          case 15: {
            enum2 = 'protocol-error';
            break;
          }
          case 16: {
            enum2 = 'bad-endpoint';
            break;
          }
          case 17: {
            enum2 = 'session-taken-over';
            break;
          }
          case 18: {
            enum2 = 'client-close';
            break;
          }
          default: {
            throw new TypeError('invalid discriminant specified for Reason');
          }
        }
        var ptr3 = arg5;
        var len3 = arg6;
        var result3 = TEXT_DECODER_UTF8.decode(new Uint8Array(memory0.buffer, ptr3, len3));
        variant4 = {
          level: enum0,
          verdict: enum1,
          reason: enum2,
          rule: result3,
        };
        break;
      }
      default: {
        throw new TypeError('invalid variant discriminant for option');
      }
    }
    let variant10;
    switch (arg7) {
      case 0: {
        var ptr5 = arg9;
        var len5 = arg10;
        var result5 = TEXT_DECODER_UTF8.decode(new Uint8Array(memory0.buffer, ptr5, len5));
        variant10= {
          tag: 'connect',
          val: {
            link: BigInt.asUintN(64, BigInt(arg8)),
            hub: result5,
            attempt: arg11 >>> 0,
          }
        };
        break;
      }
      case 1: {
        let enum6;
        switch (arg10) {
          case 0: {
            enum6 = 'normal';
            break;
          }
          case 1: {
            enum6 = 'throttled';
            break;
          }
          case 2: {
            enum6 = 'server-hint';
            break;
          }
          default: {
            throw new TypeError('invalid discriminant specified for Curve');
          }
        }
        var bool7 = arg11;
        variant10= {
          tag: 'backoff',
          val: {
            delayMs: BigInt.asUintN(64, BigInt(arg8)),
            attempt: arg9 >>> 0,
            curve: enum6,
            thenProvision: bool7 == 0 ? false : (bool7 == 1 ? true : throwInvalidBool()),
          }
        };
        break;
      }
      case 2: {
        var bool8 = Number(arg8);
        variant10= {
          tag: 'renew-credential',
          val: bool8 == 0 ? false : (bool8 == 1 ? true : throwInvalidBool())
        };
        break;
      }
      case 3: {
        variant10= {
          tag: 'provision',
        };
        break;
      }
      case 4: {
        variant10= {
          tag: 'poll-provisioning',
          val: BigInt.asUintN(64, BigInt(arg8))
        };
        break;
      }
      case 5: {
        let enum9;
        switch (Number(arg8)) {
          case 0: {
            enum9 = 'no-retry';
            break;
          }
          case 1: {
            enum9 = 'max-attempts';
            break;
          }
          case 2: {
            enum9 = 'retry-timeout';
            break;
          }
          case 3: {
            enum9 = 'unrecoverable';
            break;
          }
          default: {
            throw new TypeError('invalid discriminant specified for GiveUpReason');
          }
        }
        variant10= {
          tag: 'give-up',
          val: enum9
        };
        break;
      }
      default: {
        throw new TypeError('invalid variant discriminant for Action');
      }
    }
    _debugLog('[iface="tether:reconnect/events@0.1.0", function="decided"] [Instruction::CallInterface] (sync, @ enter)');
    const hostProvided = true;
    
    let parentTask;
    let task;
    let subtask;
    
    const createTask = () => {
      const results = createNewCurrentTask({
        componentIdx: -1,
        isAsync: false,
        entryFnName: 'decided',
        getCallbackFn: () => null,
        callbackFnName: null,
        errHandling: 'none',
        callingWasmExport: false,
      });
      task = results[0];
    };
    
    taskCreation: {
      parentTask = getCurrentTask(
      0,
      _getGlobalCurrentTaskMeta(0)?.taskID,
      )?.task;
      
      if (!parentTask) {
        createTask();
        break taskCreation;
      }
      
      createTask();
      
      if (hostProvided) {
        subtask = parentTask.getLatestSubtask();
        if (!subtask) {
          throw new Error(`Missing subtask (in parent task [${parentTask.id()}]) for host import, has the import been lowered? (ensure asyncImports are set properly)`);
        }
        task.setParentSubtask(subtask);
      }
    }
    
    const started = task.enterSync();
    let ret;
    
    
    try {
      _withGlobalCurrentTaskMeta({
        componentIdx: task.componentIdx(),
        taskID: task.id(),
        fn: () => _trackHostOperation(() => decided({
          at: BigInt.asUintN(64, BigInt(arg0)),
          cause: variant4,
          action: variant10,
        })),
      })
      ;
    } catch (err) {
      
      _debugLog('[Instruction::CallInterface] error during sync call', {
        taskID: task.id(),
        subtaskID: task.getParentSubtask()?.id(),
        err,
      });
      getOrCreateAsyncState(0).markTrapped(err);
      task.setErrored(err);
      task.reject(err);
      task.exit();
      throw err;
      
    }
    
    _debugLog('[iface="tether:reconnect/events@0.1.0", function="decided"][Instruction::Return]', {
      funcName: 'decided',
      paramCount: 0,
      async: false,
      postReturn: false
    });
    task.resolve([ret]);
    task.exit();
  }
  _trampoline15.fnName = 'tether:reconnect/events@0.1.0#decided';
  let exports2;
  let realloc0;
  let realloc0Async;
  let postReturn0;
  let postReturn0Async;
  let postReturn1;
  let postReturn1Async;
  
  const handleTable1 = [T_FLAG, 0];
  handleTable1._createdReps = new Set();
  handleTable1._componentIdx = 0;
  const finalizationRegistry1 = finalizationRegistryCreate((handle) => {
    const { rep } = rscTableRemove(handleTable1, handle);
    exports0['5'](rep);
  });
  
  HANDLE_TABLES[1] = handleTable1;
  let decisions010StaticRetryScheduleCreate;
  
  class RetrySchedule{
    constructor () {
      throw new Error('"RetrySchedule" resource does not define a constructor');
    }
  }
  
  RetrySchedule.create = function create(arg0, arg1) {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'decisions010StaticRetryScheduleCreate',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'throw-result-err',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (0!== null) {
      task.setReturnMemoryIdx(0);
      task.setReturnMemory((() => memory0)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var encodeRes = _utf8AllocateAndEncode(arg0, realloc0, memory0);
          var ptr0= encodeRes.ptr;
          var len0 = encodeRes.len;
          
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="[static]retry-schedule.create"][Instruction::CallWasm] enter', {
            funcName: '[static]retry-schedule.create',
            paramCount: 3,
            async: false,
            postReturn: true,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => decisions010StaticRetryScheduleCreate(ptr0, len0, toUint64(arg1)),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          let variant5;
          switch (dataView(memory0).getUint8(ret + 0, true)) {
            case 0: {
              var handle2 = dataView(memory0).getInt32(ret + 4, true);
              var rsc1 = new.target === RetrySchedule ? this : Object.create(RetrySchedule.prototype);
              Object.defineProperty(rsc1, symbolRscHandle, { writable: true, value: handle2});
              finalizationRegistry1.register(rsc1, handle2, rsc1);
              Object.defineProperty(rsc1, symbolDispose, { writable: true, value: function () {
                finalizationRegistry1.unregister(rsc1);
                const handleEntry = rscTableRemove(handleTable1, handle2);
                rsc1[symbolDispose] = emptyFunc;
                rsc1[symbolRscHandle] = undefined;
                exports0['5'](handleEntry.rep);
              }});
              variant5= {
                tag: 'ok',
                val: rsc1
              };
              break;
            }
            case 1: {
              var ptr3 = dataView(memory0).getUint32(ret + 4, true);
              var len3 = dataView(memory0).getUint32(ret + 8, true);
              var result3 = TEXT_DECODER_UTF8.decode(new Uint8Array(memory0.buffer, ptr3, len3));
              var ptr4 = dataView(memory0).getUint32(ret + 12, true);
              var len4 = dataView(memory0).getUint32(ret + 16, true);
              var result4 = TEXT_DECODER_UTF8.decode(new Uint8Array(memory0.buffer, ptr4, len4));
              variant5= {
                tag: 'err',
                val: {
                  field: result3,
                  message: result4,
                }
              };
              break;
            }
            default: {
              throw new TypeError('invalid variant discriminant for expected');
            }
          }
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="[static]retry-schedule.create"][Instruction::Return]', {
            funcName: '[static]retry-schedule.create',
            paramCount: 1,
            async: false,
            postReturn: true
          });
          const retCopy = variant5;
          task.resolve([retCopy.val]);
          
          let cstate = getOrCreateAsyncState(0);
          cstate.mayLeave = false;
          postReturn0(ret);
          cstate.mayLeave = true;
          task.exit();
          
          
          
          if (typeof retCopy === 'object' && retCopy.tag === 'err') {
            throw new ComponentError(retCopy.val);
          }
          return retCopy.val;
          
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let decisions010MethodRetryScheduleNext;
  
  RetrySchedule.prototype.next = function next(arg1, arg2) {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'decisions010MethodRetryScheduleNext',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'none',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (0!== null) {
      task.setReturnMemoryIdx(0);
      task.setReturnMemory((() => memory0)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable1[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"RetrySchedule\" resource.');
          }
          var handle0 = handleTable1[(handle1 << 1) + 1] & ~T_FLAG;
          
          var variant13 = arg1;
          let variant13_0;
          let variant13_1;
          let variant13_2;
          let variant13_3;
          let variant13_4;
          let variant13_5;
          let variant13_6;
          let variant13_7;
          let variant13_8;
          let variant13_9;
          let variant13_10;
          if (variant13 === null || variant13=== undefined) {
            variant13_0 = 0;
            variant13_1 = 0;
            variant13_2 = 0;
            variant13_3 = 0;
            variant13_4 = 0;
            variant13_5 = 0;
            variant13_6 = 0;
            variant13_7 = 0n;
            variant13_8 = 0;
            variant13_9 = 0;
            variant13_10 = 0;
          } else {
            const e = variant13;
            var {kind: v2_0, retryAfterMs: v2_1, serverReference: v2_2 } = e;
            var variant9 = v2_0;
            let variant9_0;
            let variant9_1;
            let variant9_2;
            let variant9_3;
            let variant9_4;
            switch (variant9.tag) {
              case 'network': {
                const e = variant9.val;
                var val3 = e;
                let enum3;
                switch (val3) {
                  case 'dns': {
                    enum3 = 0;
                    break;
                  }
                  case 'refused': {
                    enum3 = 1;
                    break;
                  }
                  case 'reset': {
                    enum3 = 2;
                    break;
                  }
                  case 'unreachable': {
                    enum3 = 3;
                    break;
                  }
                  case 'timeout': {
                    enum3 = 4;
                    break;
                  }
                  case 'tls': {
                    enum3 = 5;
                    break;
                  }
                  case 'closed': {
                    enum3 = 6;
                    break;
                  }
                  default: {
                    if ((e) instanceof Error) {
                      console.error(e);
                    }
                    
                    throw new TypeError(`"${val3}" is not one of the cases of network-error`);
                  }
                }
                variant9_0 = 0;
                variant9_1 = enum3;
                variant9_2 = 0;
                variant9_3 = 0;
                variant9_4 = 0;
                break;
              }
              case 'protocol': {
                const e = variant9.val;
                var variant7 = e;
                let variant7_0;
                let variant7_1;
                let variant7_2;
                let variant7_3;
                switch (variant7.tag) {
                  case 'mqtt-connack': {
                    const e = variant7.val;
                    variant7_0 = 0;
                    variant7_1 = toUint8(e);
                    variant7_2 = 0;
                    variant7_3 = 0;
                    break;
                  }
                  case 'mqtt-reason': {
                    const e = variant7.val;
                    variant7_0 = 1;
                    variant7_1 = toUint8(e);
                    variant7_2 = 0;
                    variant7_3 = 0;
                    break;
                  }
                  case 'amqp': {
                    const e = variant7.val;
                    
                    var encodeRes = _utf8AllocateAndEncode(e, realloc0, memory0);
                    var ptr4= encodeRes.ptr;
                    var len4 = encodeRes.len;
                    
                    variant7_0 = 2;
                    variant7_1 = ptr4;
                    variant7_2 = len4;
                    variant7_3 = 0;
                    break;
                  }
                  case 'http': {
                    const e = variant7.val;
                    var {status: v5_0, hubCode: v5_1 } = e;
                    var variant6 = v5_1;
                    let variant6_0;
                    let variant6_1;
                    if (variant6 === null || variant6=== undefined) {
                      variant6_0 = 0;
                      variant6_1 = 0;
                    } else {
                      const e = variant6;
                      variant6_0 = 1;
                      variant6_1 = toUint32(e);
                    }
                    variant7_0 = 3;
                    variant7_1 = toUint16(v5_0);
                    variant7_2 = variant6_0;
                    variant7_3 = variant6_1;
                    break;
                  }
                  case 'keep-alive-lost': {
                    variant7_0 = 4;
                    variant7_1 = 0;
                    variant7_2 = 0;
                    variant7_3 = 0;
                    break;
                  }
                  case 'session-expired': {
                    variant7_0 = 5;
                    variant7_1 = 0;
                    variant7_2 = 0;
                    variant7_3 = 0;
                    break;
                  }
                  case 'link-detached': {
                    variant7_0 = 6;
                    variant7_1 = 0;
                    variant7_2 = 0;
                    variant7_3 = 0;
                    break;
                  }
                  default: {
                    throw new TypeError(`invalid variant tag value \`${JSON.stringify(variant7.tag)}\` (received \`${variant7}\`) specified for \`ProtocolError\``);
                  }
                }
                variant9_0 = 1;
                variant9_1 = variant7_0;
                variant9_2 = variant7_1;
                variant9_3 = variant7_2;
                variant9_4 = variant7_3;
                break;
              }
              case 'application': {
                const e = variant9.val;
                var val8 = e;
                let enum8;
                switch (val8) {
                  case 'unauthorized': {
                    enum8 = 0;
                    break;
                  }
                  case 'credential-expired': {
                    enum8 = 1;
                    break;
                  }
                  case 'forbidden': {
                    enum8 = 2;
                    break;
                  }
                  case 'device-not-found': {
                    enum8 = 3;
                    break;
                  }
                  case 'device-disabled': {
                    enum8 = 4;
                    break;
                  }
                  case 'quota-exceeded': {
                    enum8 = 5;
                    break;
                  }
                  case 'throttled': {
                    enum8 = 6;
                    break;
                  }
                  case 'bad-endpoint': {
                    enum8 = 7;
                    break;
                  }
                  default: {
                    if ((e) instanceof Error) {
                      console.error(e);
                    }
                    
                    throw new TypeError(`"${val8}" is not one of the cases of application-error`);
                  }
                }
                variant9_0 = 2;
                variant9_1 = enum8;
                variant9_2 = 0;
                variant9_3 = 0;
                variant9_4 = 0;
                break;
              }
              default: {
                throw new TypeError(`invalid variant tag value \`${JSON.stringify(variant9.tag)}\` (received \`${variant9}\`) specified for \`FailureKind\``);
              }
            }
            var variant10 = v2_1;
            let variant10_0;
            let variant10_1;
            if (variant10 === null || variant10=== undefined) {
              variant10_0 = 0;
              variant10_1 = 0n;
            } else {
              const e = variant10;
              variant10_0 = 1;
              variant10_1 = toUint64(e);
            }
            var variant12 = v2_2;
            let variant12_0;
            let variant12_1;
            let variant12_2;
            if (variant12 === null || variant12=== undefined) {
              variant12_0 = 0;
              variant12_1 = 0;
              variant12_2 = 0;
            } else {
              const e = variant12;
              
              var encodeRes = _utf8AllocateAndEncode(e, realloc0, memory0);
              var ptr11= encodeRes.ptr;
              var len11 = encodeRes.len;
              
              variant12_0 = 1;
              variant12_1 = ptr11;
              variant12_2 = len11;
            }
            variant13_0 = 1;
            variant13_1 = variant9_0;
            variant13_2 = variant9_1;
            variant13_3 = variant9_2;
            variant13_4 = variant9_3;
            variant13_5 = variant9_4;
            variant13_6 = variant10_0;
            variant13_7 = variant10_1;
            variant13_8 = variant12_0;
            variant13_9 = variant12_1;
            variant13_10 = variant12_2;
          }
          var variant14 = arg2;
          let variant14_0;
          let variant14_1;
          if (variant14 === null || variant14=== undefined) {
            variant14_0 = 0;
            variant14_1 = 0n;
          } else {
            const e = variant14;
            variant14_0 = 1;
            variant14_1 = toUint64(e);
          }
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="[method]retry-schedule.next"][Instruction::CallWasm] enter', {
            funcName: '[method]retry-schedule.next',
            paramCount: 14,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => decisions010MethodRetryScheduleNext(handle0, variant13_0, variant13_1, variant13_2, variant13_3, variant13_4, variant13_5, variant13_6, variant13_7, variant13_8, variant13_9, variant13_10, variant14_0, variant14_1),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          let variant16;
          switch (dataView(memory0).getUint8(ret + 0, true)) {
            case 0: {
              variant16= {
                tag: 'retry-after',
                val: BigInt.asUintN(64, BigInt(dataView(memory0).getBigInt64(ret + 8, true)))
              };
              break;
            }
            case 1: {
              let enum15;
              switch (dataView(memory0).getUint8(ret + 8, true)) {
                case 0: {
                  enum15 = 'no-retry';
                  break;
                }
                case 1: {
                  enum15 = 'max-attempts';
                  break;
                }
                case 2: {
                  enum15 = 'retry-timeout';
                  break;
                }
                case 3: {
                  enum15 = 'unrecoverable';
                  break;
                }
                default: {
                  throw new TypeError('invalid discriminant specified for GiveUpReason');
                }
              }
              variant16= {
                tag: 'give-up',
                val: enum15
              };
              break;
            }
            default: {
              throw new TypeError('invalid variant discriminant for Decision');
            }
          }
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="[method]retry-schedule.next"][Instruction::Return]', {
            funcName: '[method]retry-schedule.next',
            paramCount: 1,
            async: false,
            postReturn: false
          });
          task.resolve([variant16]);
          task.exit();
          return variant16;
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let decisions010MethodRetryScheduleAttempts;
  
  RetrySchedule.prototype.attempts = function attempts() {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'decisions010MethodRetryScheduleAttempts',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'none',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (null!== null) {
      task.setReturnMemoryIdx(null);
      task.setReturnMemory((() => null)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable1[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"RetrySchedule\" resource.');
          }
          var handle0 = handleTable1[(handle1 << 1) + 1] & ~T_FLAG;
          
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="[method]retry-schedule.attempts"][Instruction::CallWasm] enter', {
            funcName: '[method]retry-schedule.attempts',
            paramCount: 1,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => decisions010MethodRetryScheduleAttempts(handle0),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="[method]retry-schedule.attempts"][Instruction::Return]', {
            funcName: '[method]retry-schedule.attempts',
            paramCount: 1,
            async: false,
            postReturn: false
          });
          task.resolve([ret >>> 0]);
          task.exit();
          return ret >>> 0;
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let decisions010MethodRetryScheduleConnected;
  
  RetrySchedule.prototype.connected = function connected() {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'decisions010MethodRetryScheduleConnected',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'none',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (null!== null) {
      task.setReturnMemoryIdx(null);
      task.setReturnMemory((() => null)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable1[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"RetrySchedule\" resource.');
          }
          var handle0 = handleTable1[(handle1 << 1) + 1] & ~T_FLAG;
          
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="[method]retry-schedule.connected"][Instruction::CallWasm] enter', {
            funcName: '[method]retry-schedule.connected',
            paramCount: 1,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => decisions010MethodRetryScheduleConnected(handle0),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="[method]retry-schedule.connected"][Instruction::Return]', {
            funcName: '[method]retry-schedule.connected',
            paramCount: 0,
            async: false,
            postReturn: false
          });
          task.resolve([ret]);
          task.exit();
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let decisions010MethodRetryScheduleDropped;
  
  RetrySchedule.prototype.dropped = function dropped(arg1) {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'decisions010MethodRetryScheduleDropped',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'none',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (null!== null) {
      task.setReturnMemoryIdx(null);
      task.setReturnMemory((() => null)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable1[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"RetrySchedule\" resource.');
          }
          var handle0 = handleTable1[(handle1 << 1) + 1] & ~T_FLAG;
          
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="[method]retry-schedule.dropped"][Instruction::CallWasm] enter', {
            funcName: '[method]retry-schedule.dropped',
            paramCount: 2,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => decisions010MethodRetryScheduleDropped(handle0, toUint64(arg1)),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="[method]retry-schedule.dropped"][Instruction::Return]', {
            funcName: '[method]retry-schedule.dropped',
            paramCount: 0,
            async: false,
            postReturn: false
          });
          task.resolve([ret]);
          task.exit();
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let decisions010MethodRetryScheduleReset;
  
  RetrySchedule.prototype.reset = function reset() {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'decisions010MethodRetryScheduleReset',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'none',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (null!== null) {
      task.setReturnMemoryIdx(null);
      task.setReturnMemory((() => null)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable1[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"RetrySchedule\" resource.');
          }
          var handle0 = handleTable1[(handle1 << 1) + 1] & ~T_FLAG;
          
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="[method]retry-schedule.reset"][Instruction::CallWasm] enter', {
            funcName: '[method]retry-schedule.reset',
            paramCount: 1,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => decisions010MethodRetryScheduleReset(handle0),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="[method]retry-schedule.reset"][Instruction::Return]', {
            funcName: '[method]retry-schedule.reset',
            paramCount: 0,
            async: false,
            postReturn: false
          });
          task.resolve([ret]);
          task.exit();
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let decisions010Classify;
  
  function classify(arg0) {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'decisions010Classify',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'none',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (0!== null) {
      task.setReturnMemoryIdx(0);
      task.setReturnMemory((() => memory0)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          var {kind: v0_0, retryAfterMs: v0_1, serverReference: v0_2 } = arg0;
          var variant7 = v0_0;
          let variant7_0;
          let variant7_1;
          let variant7_2;
          let variant7_3;
          let variant7_4;
          switch (variant7.tag) {
            case 'network': {
              const e = variant7.val;
              var val1 = e;
              let enum1;
              switch (val1) {
                case 'dns': {
                  enum1 = 0;
                  break;
                }
                case 'refused': {
                  enum1 = 1;
                  break;
                }
                case 'reset': {
                  enum1 = 2;
                  break;
                }
                case 'unreachable': {
                  enum1 = 3;
                  break;
                }
                case 'timeout': {
                  enum1 = 4;
                  break;
                }
                case 'tls': {
                  enum1 = 5;
                  break;
                }
                case 'closed': {
                  enum1 = 6;
                  break;
                }
                default: {
                  if ((e) instanceof Error) {
                    console.error(e);
                  }
                  
                  throw new TypeError(`"${val1}" is not one of the cases of network-error`);
                }
              }
              variant7_0 = 0;
              variant7_1 = enum1;
              variant7_2 = 0;
              variant7_3 = 0;
              variant7_4 = 0;
              break;
            }
            case 'protocol': {
              const e = variant7.val;
              var variant5 = e;
              let variant5_0;
              let variant5_1;
              let variant5_2;
              let variant5_3;
              switch (variant5.tag) {
                case 'mqtt-connack': {
                  const e = variant5.val;
                  variant5_0 = 0;
                  variant5_1 = toUint8(e);
                  variant5_2 = 0;
                  variant5_3 = 0;
                  break;
                }
                case 'mqtt-reason': {
                  const e = variant5.val;
                  variant5_0 = 1;
                  variant5_1 = toUint8(e);
                  variant5_2 = 0;
                  variant5_3 = 0;
                  break;
                }
                case 'amqp': {
                  const e = variant5.val;
                  
                  var encodeRes = _utf8AllocateAndEncode(e, realloc0, memory0);
                  var ptr2= encodeRes.ptr;
                  var len2 = encodeRes.len;
                  
                  variant5_0 = 2;
                  variant5_1 = ptr2;
                  variant5_2 = len2;
                  variant5_3 = 0;
                  break;
                }
                case 'http': {
                  const e = variant5.val;
                  var {status: v3_0, hubCode: v3_1 } = e;
                  var variant4 = v3_1;
                  let variant4_0;
                  let variant4_1;
                  if (variant4 === null || variant4=== undefined) {
                    variant4_0 = 0;
                    variant4_1 = 0;
                  } else {
                    const e = variant4;
                    variant4_0 = 1;
                    variant4_1 = toUint32(e);
                  }
                  variant5_0 = 3;
                  variant5_1 = toUint16(v3_0);
                  variant5_2 = variant4_0;
                  variant5_3 = variant4_1;
                  break;
                }
                case 'keep-alive-lost': {
                  variant5_0 = 4;
                  variant5_1 = 0;
                  variant5_2 = 0;
                  variant5_3 = 0;
                  break;
                }
                case 'session-expired': {
                  variant5_0 = 5;
                  variant5_1 = 0;
                  variant5_2 = 0;
                  variant5_3 = 0;
                  break;
                }
                case 'link-detached': {
                  variant5_0 = 6;
                  variant5_1 = 0;
                  variant5_2 = 0;
                  variant5_3 = 0;
                  break;
                }
                default: {
                  throw new TypeError(`invalid variant tag value \`${JSON.stringify(variant5.tag)}\` (received \`${variant5}\`) specified for \`ProtocolError\``);
                }
              }
              variant7_0 = 1;
              variant7_1 = variant5_0;
              variant7_2 = variant5_1;
              variant7_3 = variant5_2;
              variant7_4 = variant5_3;
              break;
            }
            case 'application': {
              const e = variant7.val;
              var val6 = e;
              let enum6;
              switch (val6) {
                case 'unauthorized': {
                  enum6 = 0;
                  break;
                }
                case 'credential-expired': {
                  enum6 = 1;
                  break;
                }
                case 'forbidden': {
                  enum6 = 2;
                  break;
                }
                case 'device-not-found': {
                  enum6 = 3;
                  break;
                }
                case 'device-disabled': {
                  enum6 = 4;
                  break;
                }
                case 'quota-exceeded': {
                  enum6 = 5;
                  break;
                }
                case 'throttled': {
                  enum6 = 6;
                  break;
                }
                case 'bad-endpoint': {
                  enum6 = 7;
                  break;
                }
                default: {
                  if ((e) instanceof Error) {
                    console.error(e);
                  }
                  
                  throw new TypeError(`"${val6}" is not one of the cases of application-error`);
                }
              }
              variant7_0 = 2;
              variant7_1 = enum6;
              variant7_2 = 0;
              variant7_3 = 0;
              variant7_4 = 0;
              break;
            }
            default: {
              throw new TypeError(`invalid variant tag value \`${JSON.stringify(variant7.tag)}\` (received \`${variant7}\`) specified for \`FailureKind\``);
            }
          }
          var variant8 = v0_1;
          let variant8_0;
          let variant8_1;
          if (variant8 === null || variant8=== undefined) {
            variant8_0 = 0;
            variant8_1 = 0n;
          } else {
            const e = variant8;
            variant8_0 = 1;
            variant8_1 = toUint64(e);
          }
          var variant10 = v0_2;
          let variant10_0;
          let variant10_1;
          let variant10_2;
          if (variant10 === null || variant10=== undefined) {
            variant10_0 = 0;
            variant10_1 = 0;
            variant10_2 = 0;
          } else {
            const e = variant10;
            
            var encodeRes = _utf8AllocateAndEncode(e, realloc0, memory0);
            var ptr9= encodeRes.ptr;
            var len9 = encodeRes.len;
            
            variant10_0 = 1;
            variant10_1 = ptr9;
            variant10_2 = len9;
          }
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="classify"][Instruction::CallWasm] enter', {
            funcName: 'classify',
            paramCount: 10,
            async: false,
            postReturn: true,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => decisions010Classify(variant7_0, variant7_1, variant7_2, variant7_3, variant7_4, variant8_0, variant8_1, variant10_0, variant10_1, variant10_2),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          let enum11;
          switch (dataView(memory0).getUint8(ret + 0, true)) {
            case 0: {
              enum11 = 'network';
              break;
            }
            case 1: {
              enum11 = 'protocol';
              break;
            }
            case 2: {
              enum11 = 'application';
              break;
            }
            default: {
              throw new TypeError('invalid discriminant specified for Level');
            }
          }
          let enum12;
          switch (dataView(memory0).getUint8(ret + 1, true)) {
            case 0: {
              enum12 = 'retry';
              break;
            }
            case 1: {
              enum12 = 'retry-throttled';
              break;
            }
            case 2: {
              enum12 = 'renew-credential';
              break;
            }
            case 3: {
              enum12 = 'reprovision';
              break;
            }
            case 4: {
              enum12 = 'fatal';
              break;
            }
            default: {
              throw new TypeError('invalid discriminant specified for Verdict');
            }
          }
          let enum13;
          switch (dataView(memory0).getUint8(ret + 2, true)) {
            case 0: {
              enum13 = 'connection-ok';
              break;
            }
            case 1: {
              enum13 = 'credential-renewal';
              break;
            }
            case 2: {
              enum13 = 'expired-credential';
              break;
            }
            case 3: {
              enum13 = 'bad-credential';
              break;
            }
            case 4: {
              enum13 = 'device-disabled';
              break;
            }
            case 5: {
              enum13 = 'device-not-found';
              break;
            }
            case 6: {
              enum13 = 'retry-expired';
              break;
            }
            case 7: {
              enum13 = 'no-network';
              break;
            }
            case 8: {
              enum13 = 'communication-error';
              break;
            }
            case 9: {
              enum13 = 'no-ping-response';
              break;
            }
            case 10: {
              enum13 = 'quota-exceeded';
              break;
            }
            case 11: {
              enum13 = 'throttled';
              break;
            }
            case 12: {
              enum13 = 'server-busy';
              break;
            }
            case 13: {
              enum13 = 'server-moved';
              break;
            }
            case 14: {
              enum13 = 'provisioning';
              break;
            }
            case 15: {
              enum13 = 'protocol-error';
              break;
            }
            case 16: {
              enum13 = 'bad-endpoint';
              break;
            }
            case 17: {
              enum13 = 'session-taken-over';
              break;
            }
            case 18: {
              enum13 = 'client-close';
              break;
            }
            default: {
              throw new TypeError('invalid discriminant specified for Reason');
            }
          }
          var ptr14 = dataView(memory0).getUint32(ret + 4, true);
          var len14 = dataView(memory0).getUint32(ret + 8, true);
          var result14 = TEXT_DECODER_UTF8.decode(new Uint8Array(memory0.buffer, ptr14, len14));
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="classify"][Instruction::Return]', {
            funcName: 'classify',
            paramCount: 1,
            async: false,
            postReturn: true
          });
          task.resolve([{
            level: enum11,
            verdict: enum12,
            reason: enum13,
            rule: result14,
          }]);
          const retCopy = {
            level: enum11,
            verdict: enum12,
            reason: enum13,
            rule: result14,
          };
          
          let cstate = getOrCreateAsyncState(0);
          cstate.mayLeave = false;
          postReturn1(ret);
          cstate.mayLeave = true;
          task.exit();
          return retCopy;
          
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  }
  let decisions010TableVersion;
  
  function tableVersion() {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'decisions010TableVersion',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'none',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (null!== null) {
      task.setReturnMemoryIdx(null);
      task.setReturnMemory((() => null)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="table-version"][Instruction::CallWasm] enter', {
            funcName: 'table-version',
            paramCount: 0,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => decisions010TableVersion(),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="table-version"][Instruction::Return]', {
            funcName: 'table-version',
            paramCount: 1,
            async: false,
            postReturn: false
          });
          task.resolve([ret >>> 0]);
          task.exit();
          return ret >>> 0;
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  }
  let decisions010ValidateConfig;
  
  function validateConfig(arg0) {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'decisions010ValidateConfig',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'throw-result-err',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (0!== null) {
      task.setReturnMemoryIdx(0);
      task.setReturnMemory((() => memory0)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var encodeRes = _utf8AllocateAndEncode(arg0, realloc0, memory0);
          var ptr0= encodeRes.ptr;
          var len0 = encodeRes.len;
          
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="validate-config"][Instruction::CallWasm] enter', {
            funcName: 'validate-config',
            paramCount: 2,
            async: false,
            postReturn: true,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => decisions010ValidateConfig(ptr0, len0),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          let variant3;
          switch (dataView(memory0).getUint8(ret + 0, true)) {
            case 0: {
              variant3= {
                tag: 'ok',
                val: undefined
              };
              break;
            }
            case 1: {
              var ptr1 = dataView(memory0).getUint32(ret + 4, true);
              var len1 = dataView(memory0).getUint32(ret + 8, true);
              var result1 = TEXT_DECODER_UTF8.decode(new Uint8Array(memory0.buffer, ptr1, len1));
              var ptr2 = dataView(memory0).getUint32(ret + 12, true);
              var len2 = dataView(memory0).getUint32(ret + 16, true);
              var result2 = TEXT_DECODER_UTF8.decode(new Uint8Array(memory0.buffer, ptr2, len2));
              variant3= {
                tag: 'err',
                val: {
                  field: result1,
                  message: result2,
                }
              };
              break;
            }
            default: {
              throw new TypeError('invalid variant discriminant for expected');
            }
          }
          _debugLog('[iface="tether:reconnect/decisions@0.1.0", function="validate-config"][Instruction::Return]', {
            funcName: 'validate-config',
            paramCount: 1,
            async: false,
            postReturn: true
          });
          const retCopy = variant3;
          task.resolve([retCopy.val]);
          
          let cstate = getOrCreateAsyncState(0);
          cstate.mayLeave = false;
          postReturn0(ret);
          cstate.mayLeave = true;
          task.exit();
          
          
          
          if (typeof retCopy === 'object' && retCopy.tag === 'err') {
            throw new ComponentError(retCopy.val);
          }
          return retCopy.val;
          
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  }
  
  const handleTable0 = [T_FLAG, 0];
  handleTable0._createdReps = new Set();
  handleTable0._componentIdx = 0;
  const finalizationRegistry0 = finalizationRegistryCreate((handle) => {
    const { rep } = rscTableRemove(handleTable0, handle);
    exports0['4'](rep);
  });
  
  HANDLE_TABLES[0] = handleTable0;
  let connection010StaticConnectionCreate;
  
  class Connection{
    constructor () {
      throw new Error('"Connection" resource does not define a constructor');
    }
  }
  
  Connection.create = function create(arg0) {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'connection010StaticConnectionCreate',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'throw-result-err',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (0!== null) {
      task.setReturnMemoryIdx(0);
      task.setReturnMemory((() => memory0)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var encodeRes = _utf8AllocateAndEncode(arg0, realloc0, memory0);
          var ptr0= encodeRes.ptr;
          var len0 = encodeRes.len;
          
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[static]connection.create"][Instruction::CallWasm] enter', {
            funcName: '[static]connection.create',
            paramCount: 2,
            async: false,
            postReturn: true,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => connection010StaticConnectionCreate(ptr0, len0),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          let variant5;
          switch (dataView(memory0).getUint8(ret + 0, true)) {
            case 0: {
              var handle2 = dataView(memory0).getInt32(ret + 4, true);
              var rsc1 = new.target === Connection ? this : Object.create(Connection.prototype);
              Object.defineProperty(rsc1, symbolRscHandle, { writable: true, value: handle2});
              finalizationRegistry0.register(rsc1, handle2, rsc1);
              Object.defineProperty(rsc1, symbolDispose, { writable: true, value: function () {
                finalizationRegistry0.unregister(rsc1);
                const handleEntry = rscTableRemove(handleTable0, handle2);
                rsc1[symbolDispose] = emptyFunc;
                rsc1[symbolRscHandle] = undefined;
                exports0['4'](handleEntry.rep);
              }});
              variant5= {
                tag: 'ok',
                val: rsc1
              };
              break;
            }
            case 1: {
              var ptr3 = dataView(memory0).getUint32(ret + 4, true);
              var len3 = dataView(memory0).getUint32(ret + 8, true);
              var result3 = TEXT_DECODER_UTF8.decode(new Uint8Array(memory0.buffer, ptr3, len3));
              var ptr4 = dataView(memory0).getUint32(ret + 12, true);
              var len4 = dataView(memory0).getUint32(ret + 16, true);
              var result4 = TEXT_DECODER_UTF8.decode(new Uint8Array(memory0.buffer, ptr4, len4));
              variant5= {
                tag: 'err',
                val: {
                  field: result3,
                  message: result4,
                }
              };
              break;
            }
            default: {
              throw new TypeError('invalid variant discriminant for expected');
            }
          }
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[static]connection.create"][Instruction::Return]', {
            funcName: '[static]connection.create',
            paramCount: 1,
            async: false,
            postReturn: true
          });
          const retCopy = variant5;
          task.resolve([retCopy.val]);
          
          let cstate = getOrCreateAsyncState(0);
          cstate.mayLeave = false;
          postReturn0(ret);
          cstate.mayLeave = true;
          task.exit();
          
          
          
          if (typeof retCopy === 'object' && retCopy.tag === 'err') {
            throw new ComponentError(retCopy.val);
          }
          return retCopy.val;
          
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let connection010MethodConnectionStart;
  
  Connection.prototype.start = function start() {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'connection010MethodConnectionStart',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'throw-result-err',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (0!== null) {
      task.setReturnMemoryIdx(0);
      task.setReturnMemory((() => memory0)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable0[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"Connection\" resource.');
          }
          var handle0 = handleTable0[(handle1 << 1) + 1] & ~T_FLAG;
          
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.start"][Instruction::CallWasm] enter', {
            funcName: '[method]connection.start',
            paramCount: 1,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => connection010MethodConnectionStart(handle0),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          let variant3;
          switch (dataView(memory0).getUint8(ret + 0, true)) {
            case 0: {
              variant3= {
                tag: 'ok',
                val: undefined
              };
              break;
            }
            case 1: {
              let enum2;
              switch (dataView(memory0).getUint8(ret + 1, true)) {
                case 0: {
                  enum2 = 'stale-link';
                  break;
                }
                case 1: {
                  enum2 = 'unexpected';
                  break;
                }
                case 2: {
                  enum2 = 'unknown-message';
                  break;
                }
                case 3: {
                  enum2 = 'stopped';
                  break;
                }
                default: {
                  throw new TypeError('invalid discriminant specified for InputError');
                }
              }
              variant3= {
                tag: 'err',
                val: enum2
              };
              break;
            }
            default: {
              throw new TypeError('invalid variant discriminant for expected');
            }
          }
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.start"][Instruction::Return]', {
            funcName: '[method]connection.start',
            paramCount: 1,
            async: false,
            postReturn: false
          });
          const retCopy = variant3;
          task.resolve([retCopy.val]);
          task.exit();
          
          if (typeof retCopy === 'object' && retCopy.tag === 'err') {
            throw new ComponentError(retCopy.val);
          }
          return retCopy.val;
          
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let connection010MethodConnectionOnOpened;
  
  Connection.prototype.onOpened = function onOpened(arg1) {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'connection010MethodConnectionOnOpened',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'throw-result-err',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (0!== null) {
      task.setReturnMemoryIdx(0);
      task.setReturnMemory((() => memory0)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable0[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"Connection\" resource.');
          }
          var handle0 = handleTable0[(handle1 << 1) + 1] & ~T_FLAG;
          
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.on-opened"][Instruction::CallWasm] enter', {
            funcName: '[method]connection.on-opened',
            paramCount: 2,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => connection010MethodConnectionOnOpened(handle0, toUint64(arg1)),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          let variant3;
          switch (dataView(memory0).getUint8(ret + 0, true)) {
            case 0: {
              variant3= {
                tag: 'ok',
                val: undefined
              };
              break;
            }
            case 1: {
              let enum2;
              switch (dataView(memory0).getUint8(ret + 1, true)) {
                case 0: {
                  enum2 = 'stale-link';
                  break;
                }
                case 1: {
                  enum2 = 'unexpected';
                  break;
                }
                case 2: {
                  enum2 = 'unknown-message';
                  break;
                }
                case 3: {
                  enum2 = 'stopped';
                  break;
                }
                default: {
                  throw new TypeError('invalid discriminant specified for InputError');
                }
              }
              variant3= {
                tag: 'err',
                val: enum2
              };
              break;
            }
            default: {
              throw new TypeError('invalid variant discriminant for expected');
            }
          }
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.on-opened"][Instruction::Return]', {
            funcName: '[method]connection.on-opened',
            paramCount: 1,
            async: false,
            postReturn: false
          });
          const retCopy = variant3;
          task.resolve([retCopy.val]);
          task.exit();
          
          if (typeof retCopy === 'object' && retCopy.tag === 'err') {
            throw new ComponentError(retCopy.val);
          }
          return retCopy.val;
          
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let connection010MethodConnectionOnFailed;
  
  Connection.prototype.onFailed = function onFailed(arg1, arg2) {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'connection010MethodConnectionOnFailed',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'throw-result-err',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (0!== null) {
      task.setReturnMemoryIdx(0);
      task.setReturnMemory((() => memory0)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable0[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"Connection\" resource.');
          }
          var handle0 = handleTable0[(handle1 << 1) + 1] & ~T_FLAG;
          
          var {kind: v2_0, retryAfterMs: v2_1, serverReference: v2_2 } = arg2;
          var variant9 = v2_0;
          let variant9_0;
          let variant9_1;
          let variant9_2;
          let variant9_3;
          let variant9_4;
          switch (variant9.tag) {
            case 'network': {
              const e = variant9.val;
              var val3 = e;
              let enum3;
              switch (val3) {
                case 'dns': {
                  enum3 = 0;
                  break;
                }
                case 'refused': {
                  enum3 = 1;
                  break;
                }
                case 'reset': {
                  enum3 = 2;
                  break;
                }
                case 'unreachable': {
                  enum3 = 3;
                  break;
                }
                case 'timeout': {
                  enum3 = 4;
                  break;
                }
                case 'tls': {
                  enum3 = 5;
                  break;
                }
                case 'closed': {
                  enum3 = 6;
                  break;
                }
                default: {
                  if ((e) instanceof Error) {
                    console.error(e);
                  }
                  
                  throw new TypeError(`"${val3}" is not one of the cases of network-error`);
                }
              }
              variant9_0 = 0;
              variant9_1 = enum3;
              variant9_2 = 0;
              variant9_3 = 0;
              variant9_4 = 0;
              break;
            }
            case 'protocol': {
              const e = variant9.val;
              var variant7 = e;
              let variant7_0;
              let variant7_1;
              let variant7_2;
              let variant7_3;
              switch (variant7.tag) {
                case 'mqtt-connack': {
                  const e = variant7.val;
                  variant7_0 = 0;
                  variant7_1 = toUint8(e);
                  variant7_2 = 0;
                  variant7_3 = 0;
                  break;
                }
                case 'mqtt-reason': {
                  const e = variant7.val;
                  variant7_0 = 1;
                  variant7_1 = toUint8(e);
                  variant7_2 = 0;
                  variant7_3 = 0;
                  break;
                }
                case 'amqp': {
                  const e = variant7.val;
                  
                  var encodeRes = _utf8AllocateAndEncode(e, realloc0, memory0);
                  var ptr4= encodeRes.ptr;
                  var len4 = encodeRes.len;
                  
                  variant7_0 = 2;
                  variant7_1 = ptr4;
                  variant7_2 = len4;
                  variant7_3 = 0;
                  break;
                }
                case 'http': {
                  const e = variant7.val;
                  var {status: v5_0, hubCode: v5_1 } = e;
                  var variant6 = v5_1;
                  let variant6_0;
                  let variant6_1;
                  if (variant6 === null || variant6=== undefined) {
                    variant6_0 = 0;
                    variant6_1 = 0;
                  } else {
                    const e = variant6;
                    variant6_0 = 1;
                    variant6_1 = toUint32(e);
                  }
                  variant7_0 = 3;
                  variant7_1 = toUint16(v5_0);
                  variant7_2 = variant6_0;
                  variant7_3 = variant6_1;
                  break;
                }
                case 'keep-alive-lost': {
                  variant7_0 = 4;
                  variant7_1 = 0;
                  variant7_2 = 0;
                  variant7_3 = 0;
                  break;
                }
                case 'session-expired': {
                  variant7_0 = 5;
                  variant7_1 = 0;
                  variant7_2 = 0;
                  variant7_3 = 0;
                  break;
                }
                case 'link-detached': {
                  variant7_0 = 6;
                  variant7_1 = 0;
                  variant7_2 = 0;
                  variant7_3 = 0;
                  break;
                }
                default: {
                  throw new TypeError(`invalid variant tag value \`${JSON.stringify(variant7.tag)}\` (received \`${variant7}\`) specified for \`ProtocolError\``);
                }
              }
              variant9_0 = 1;
              variant9_1 = variant7_0;
              variant9_2 = variant7_1;
              variant9_3 = variant7_2;
              variant9_4 = variant7_3;
              break;
            }
            case 'application': {
              const e = variant9.val;
              var val8 = e;
              let enum8;
              switch (val8) {
                case 'unauthorized': {
                  enum8 = 0;
                  break;
                }
                case 'credential-expired': {
                  enum8 = 1;
                  break;
                }
                case 'forbidden': {
                  enum8 = 2;
                  break;
                }
                case 'device-not-found': {
                  enum8 = 3;
                  break;
                }
                case 'device-disabled': {
                  enum8 = 4;
                  break;
                }
                case 'quota-exceeded': {
                  enum8 = 5;
                  break;
                }
                case 'throttled': {
                  enum8 = 6;
                  break;
                }
                case 'bad-endpoint': {
                  enum8 = 7;
                  break;
                }
                default: {
                  if ((e) instanceof Error) {
                    console.error(e);
                  }
                  
                  throw new TypeError(`"${val8}" is not one of the cases of application-error`);
                }
              }
              variant9_0 = 2;
              variant9_1 = enum8;
              variant9_2 = 0;
              variant9_3 = 0;
              variant9_4 = 0;
              break;
            }
            default: {
              throw new TypeError(`invalid variant tag value \`${JSON.stringify(variant9.tag)}\` (received \`${variant9}\`) specified for \`FailureKind\``);
            }
          }
          var variant10 = v2_1;
          let variant10_0;
          let variant10_1;
          if (variant10 === null || variant10=== undefined) {
            variant10_0 = 0;
            variant10_1 = 0n;
          } else {
            const e = variant10;
            variant10_0 = 1;
            variant10_1 = toUint64(e);
          }
          var variant12 = v2_2;
          let variant12_0;
          let variant12_1;
          let variant12_2;
          if (variant12 === null || variant12=== undefined) {
            variant12_0 = 0;
            variant12_1 = 0;
            variant12_2 = 0;
          } else {
            const e = variant12;
            
            var encodeRes = _utf8AllocateAndEncode(e, realloc0, memory0);
            var ptr11= encodeRes.ptr;
            var len11 = encodeRes.len;
            
            variant12_0 = 1;
            variant12_1 = ptr11;
            variant12_2 = len11;
          }
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.on-failed"][Instruction::CallWasm] enter', {
            funcName: '[method]connection.on-failed',
            paramCount: 12,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => connection010MethodConnectionOnFailed(handle0, toUint64(arg1), variant9_0, variant9_1, variant9_2, variant9_3, variant9_4, variant10_0, variant10_1, variant12_0, variant12_1, variant12_2),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          let variant14;
          switch (dataView(memory0).getUint8(ret + 0, true)) {
            case 0: {
              variant14= {
                tag: 'ok',
                val: undefined
              };
              break;
            }
            case 1: {
              let enum13;
              switch (dataView(memory0).getUint8(ret + 1, true)) {
                case 0: {
                  enum13 = 'stale-link';
                  break;
                }
                case 1: {
                  enum13 = 'unexpected';
                  break;
                }
                case 2: {
                  enum13 = 'unknown-message';
                  break;
                }
                case 3: {
                  enum13 = 'stopped';
                  break;
                }
                default: {
                  throw new TypeError('invalid discriminant specified for InputError');
                }
              }
              variant14= {
                tag: 'err',
                val: enum13
              };
              break;
            }
            default: {
              throw new TypeError('invalid variant discriminant for expected');
            }
          }
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.on-failed"][Instruction::Return]', {
            funcName: '[method]connection.on-failed',
            paramCount: 1,
            async: false,
            postReturn: false
          });
          const retCopy = variant14;
          task.resolve([retCopy.val]);
          task.exit();
          
          if (typeof retCopy === 'object' && retCopy.tag === 'err') {
            throw new ComponentError(retCopy.val);
          }
          return retCopy.val;
          
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let connection010MethodConnectionOnClosed;
  
  Connection.prototype.onClosed = function onClosed(arg1, arg2) {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'connection010MethodConnectionOnClosed',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'throw-result-err',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (0!== null) {
      task.setReturnMemoryIdx(0);
      task.setReturnMemory((() => memory0)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable0[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"Connection\" resource.');
          }
          var handle0 = handleTable0[(handle1 << 1) + 1] & ~T_FLAG;
          
          var {kind: v2_0, retryAfterMs: v2_1, serverReference: v2_2 } = arg2;
          var variant9 = v2_0;
          let variant9_0;
          let variant9_1;
          let variant9_2;
          let variant9_3;
          let variant9_4;
          switch (variant9.tag) {
            case 'network': {
              const e = variant9.val;
              var val3 = e;
              let enum3;
              switch (val3) {
                case 'dns': {
                  enum3 = 0;
                  break;
                }
                case 'refused': {
                  enum3 = 1;
                  break;
                }
                case 'reset': {
                  enum3 = 2;
                  break;
                }
                case 'unreachable': {
                  enum3 = 3;
                  break;
                }
                case 'timeout': {
                  enum3 = 4;
                  break;
                }
                case 'tls': {
                  enum3 = 5;
                  break;
                }
                case 'closed': {
                  enum3 = 6;
                  break;
                }
                default: {
                  if ((e) instanceof Error) {
                    console.error(e);
                  }
                  
                  throw new TypeError(`"${val3}" is not one of the cases of network-error`);
                }
              }
              variant9_0 = 0;
              variant9_1 = enum3;
              variant9_2 = 0;
              variant9_3 = 0;
              variant9_4 = 0;
              break;
            }
            case 'protocol': {
              const e = variant9.val;
              var variant7 = e;
              let variant7_0;
              let variant7_1;
              let variant7_2;
              let variant7_3;
              switch (variant7.tag) {
                case 'mqtt-connack': {
                  const e = variant7.val;
                  variant7_0 = 0;
                  variant7_1 = toUint8(e);
                  variant7_2 = 0;
                  variant7_3 = 0;
                  break;
                }
                case 'mqtt-reason': {
                  const e = variant7.val;
                  variant7_0 = 1;
                  variant7_1 = toUint8(e);
                  variant7_2 = 0;
                  variant7_3 = 0;
                  break;
                }
                case 'amqp': {
                  const e = variant7.val;
                  
                  var encodeRes = _utf8AllocateAndEncode(e, realloc0, memory0);
                  var ptr4= encodeRes.ptr;
                  var len4 = encodeRes.len;
                  
                  variant7_0 = 2;
                  variant7_1 = ptr4;
                  variant7_2 = len4;
                  variant7_3 = 0;
                  break;
                }
                case 'http': {
                  const e = variant7.val;
                  var {status: v5_0, hubCode: v5_1 } = e;
                  var variant6 = v5_1;
                  let variant6_0;
                  let variant6_1;
                  if (variant6 === null || variant6=== undefined) {
                    variant6_0 = 0;
                    variant6_1 = 0;
                  } else {
                    const e = variant6;
                    variant6_0 = 1;
                    variant6_1 = toUint32(e);
                  }
                  variant7_0 = 3;
                  variant7_1 = toUint16(v5_0);
                  variant7_2 = variant6_0;
                  variant7_3 = variant6_1;
                  break;
                }
                case 'keep-alive-lost': {
                  variant7_0 = 4;
                  variant7_1 = 0;
                  variant7_2 = 0;
                  variant7_3 = 0;
                  break;
                }
                case 'session-expired': {
                  variant7_0 = 5;
                  variant7_1 = 0;
                  variant7_2 = 0;
                  variant7_3 = 0;
                  break;
                }
                case 'link-detached': {
                  variant7_0 = 6;
                  variant7_1 = 0;
                  variant7_2 = 0;
                  variant7_3 = 0;
                  break;
                }
                default: {
                  throw new TypeError(`invalid variant tag value \`${JSON.stringify(variant7.tag)}\` (received \`${variant7}\`) specified for \`ProtocolError\``);
                }
              }
              variant9_0 = 1;
              variant9_1 = variant7_0;
              variant9_2 = variant7_1;
              variant9_3 = variant7_2;
              variant9_4 = variant7_3;
              break;
            }
            case 'application': {
              const e = variant9.val;
              var val8 = e;
              let enum8;
              switch (val8) {
                case 'unauthorized': {
                  enum8 = 0;
                  break;
                }
                case 'credential-expired': {
                  enum8 = 1;
                  break;
                }
                case 'forbidden': {
                  enum8 = 2;
                  break;
                }
                case 'device-not-found': {
                  enum8 = 3;
                  break;
                }
                case 'device-disabled': {
                  enum8 = 4;
                  break;
                }
                case 'quota-exceeded': {
                  enum8 = 5;
                  break;
                }
                case 'throttled': {
                  enum8 = 6;
                  break;
                }
                case 'bad-endpoint': {
                  enum8 = 7;
                  break;
                }
                default: {
                  if ((e) instanceof Error) {
                    console.error(e);
                  }
                  
                  throw new TypeError(`"${val8}" is not one of the cases of application-error`);
                }
              }
              variant9_0 = 2;
              variant9_1 = enum8;
              variant9_2 = 0;
              variant9_3 = 0;
              variant9_4 = 0;
              break;
            }
            default: {
              throw new TypeError(`invalid variant tag value \`${JSON.stringify(variant9.tag)}\` (received \`${variant9}\`) specified for \`FailureKind\``);
            }
          }
          var variant10 = v2_1;
          let variant10_0;
          let variant10_1;
          if (variant10 === null || variant10=== undefined) {
            variant10_0 = 0;
            variant10_1 = 0n;
          } else {
            const e = variant10;
            variant10_0 = 1;
            variant10_1 = toUint64(e);
          }
          var variant12 = v2_2;
          let variant12_0;
          let variant12_1;
          let variant12_2;
          if (variant12 === null || variant12=== undefined) {
            variant12_0 = 0;
            variant12_1 = 0;
            variant12_2 = 0;
          } else {
            const e = variant12;
            
            var encodeRes = _utf8AllocateAndEncode(e, realloc0, memory0);
            var ptr11= encodeRes.ptr;
            var len11 = encodeRes.len;
            
            variant12_0 = 1;
            variant12_1 = ptr11;
            variant12_2 = len11;
          }
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.on-closed"][Instruction::CallWasm] enter', {
            funcName: '[method]connection.on-closed',
            paramCount: 12,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => connection010MethodConnectionOnClosed(handle0, toUint64(arg1), variant9_0, variant9_1, variant9_2, variant9_3, variant9_4, variant10_0, variant10_1, variant12_0, variant12_1, variant12_2),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          let variant14;
          switch (dataView(memory0).getUint8(ret + 0, true)) {
            case 0: {
              variant14= {
                tag: 'ok',
                val: undefined
              };
              break;
            }
            case 1: {
              let enum13;
              switch (dataView(memory0).getUint8(ret + 1, true)) {
                case 0: {
                  enum13 = 'stale-link';
                  break;
                }
                case 1: {
                  enum13 = 'unexpected';
                  break;
                }
                case 2: {
                  enum13 = 'unknown-message';
                  break;
                }
                case 3: {
                  enum13 = 'stopped';
                  break;
                }
                default: {
                  throw new TypeError('invalid discriminant specified for InputError');
                }
              }
              variant14= {
                tag: 'err',
                val: enum13
              };
              break;
            }
            default: {
              throw new TypeError('invalid variant discriminant for expected');
            }
          }
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.on-closed"][Instruction::Return]', {
            funcName: '[method]connection.on-closed',
            paramCount: 1,
            async: false,
            postReturn: false
          });
          const retCopy = variant14;
          task.resolve([retCopy.val]);
          task.exit();
          
          if (typeof retCopy === 'object' && retCopy.tag === 'err') {
            throw new ComponentError(retCopy.val);
          }
          return retCopy.val;
          
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let connection010MethodConnectionOnAcked;
  
  Connection.prototype.onAcked = function onAcked(arg1) {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'connection010MethodConnectionOnAcked',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'throw-result-err',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (0!== null) {
      task.setReturnMemoryIdx(0);
      task.setReturnMemory((() => memory0)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable0[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"Connection\" resource.');
          }
          var handle0 = handleTable0[(handle1 << 1) + 1] & ~T_FLAG;
          
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.on-acked"][Instruction::CallWasm] enter', {
            funcName: '[method]connection.on-acked',
            paramCount: 2,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => connection010MethodConnectionOnAcked(handle0, toUint64(arg1)),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          let variant3;
          switch (dataView(memory0).getUint8(ret + 0, true)) {
            case 0: {
              variant3= {
                tag: 'ok',
                val: undefined
              };
              break;
            }
            case 1: {
              let enum2;
              switch (dataView(memory0).getUint8(ret + 1, true)) {
                case 0: {
                  enum2 = 'stale-link';
                  break;
                }
                case 1: {
                  enum2 = 'unexpected';
                  break;
                }
                case 2: {
                  enum2 = 'unknown-message';
                  break;
                }
                case 3: {
                  enum2 = 'stopped';
                  break;
                }
                default: {
                  throw new TypeError('invalid discriminant specified for InputError');
                }
              }
              variant3= {
                tag: 'err',
                val: enum2
              };
              break;
            }
            default: {
              throw new TypeError('invalid variant discriminant for expected');
            }
          }
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.on-acked"][Instruction::Return]', {
            funcName: '[method]connection.on-acked',
            paramCount: 1,
            async: false,
            postReturn: false
          });
          const retCopy = variant3;
          task.resolve([retCopy.val]);
          task.exit();
          
          if (typeof retCopy === 'object' && retCopy.tag === 'err') {
            throw new ComponentError(retCopy.val);
          }
          return retCopy.val;
          
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let connection010MethodConnectionOnProvisioned;
  
  Connection.prototype.onProvisioned = function onProvisioned(arg1) {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'connection010MethodConnectionOnProvisioned',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'throw-result-err',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (0!== null) {
      task.setReturnMemoryIdx(0);
      task.setReturnMemory((() => memory0)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable0[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"Connection\" resource.');
          }
          var handle0 = handleTable0[(handle1 << 1) + 1] & ~T_FLAG;
          
          var variant23 = arg1;
          let variant23_0;
          let variant23_1;
          let variant23_2;
          let variant23_3;
          let variant23_4;
          let variant23_5;
          let variant23_6;
          let variant23_7;
          let variant23_8;
          let variant23_9;
          let variant23_10;
          switch (variant23.tag) {
            case 'assigned': {
              const e = variant23.val;
              var {hub: v2_0, deviceId: v2_1, credential: v2_2 } = e;
              
              var encodeRes = _utf8AllocateAndEncode(v2_0, realloc0, memory0);
              var ptr3= encodeRes.ptr;
              var len3 = encodeRes.len;
              
              
              var encodeRes = _utf8AllocateAndEncode(v2_1, realloc0, memory0);
              var ptr4= encodeRes.ptr;
              var len4 = encodeRes.len;
              
              var variant8 = v2_2;
              let variant8_0;
              let variant8_1;
              let variant8_2;
              let variant8_3;
              let variant8_4;
              if (variant8 === null || variant8=== undefined) {
                variant8_0 = 0;
                variant8_1 = 0;
                variant8_2 = 0;
                variant8_3 = 0;
                variant8_4 = 0n;
              } else {
                const e = variant8;
                var {secret: v5_0, lifetimeMs: v5_1 } = e;
                
                var encodeRes = _utf8AllocateAndEncode(v5_0, realloc0, memory0);
                var ptr6= encodeRes.ptr;
                var len6 = encodeRes.len;
                
                var variant7 = v5_1;
                let variant7_0;
                let variant7_1;
                if (variant7 === null || variant7=== undefined) {
                  variant7_0 = 0;
                  variant7_1 = 0n;
                } else {
                  const e = variant7;
                  variant7_0 = 1;
                  variant7_1 = toUint64(e);
                }
                variant8_0 = 1;
                variant8_1 = ptr6;
                variant8_2 = len6;
                variant8_3 = variant7_0;
                variant8_4 = variant7_1;
              }
              variant23_0 = 0;
              variant23_1 = ptr3;
              variant23_2 = len3;
              variant23_3 = ptr4;
              variant23_4 = BigInt(len4);
              variant23_5 = variant8_0;
              variant23_6 = variant8_1;
              variant23_7 = BigInt(variant8_2);
              variant23_8 = variant8_3;
              variant23_9 = BigInt(variant8_4);
              variant23_10 = 0;
              break;
            }
            case 'pending': {
              const e = variant23.val;
              var {operationId: v9_0, retryAfterMs: v9_1 } = e;
              
              var encodeRes = _utf8AllocateAndEncode(v9_0, realloc0, memory0);
              var ptr10= encodeRes.ptr;
              var len10 = encodeRes.len;
              
              var variant11 = v9_1;
              let variant11_0;
              let variant11_1;
              if (variant11 === null || variant11=== undefined) {
                variant11_0 = 0;
                variant11_1 = 0n;
              } else {
                const e = variant11;
                variant11_0 = 1;
                variant11_1 = toUint64(e);
              }
              variant23_0 = 1;
              variant23_1 = ptr10;
              variant23_2 = len10;
              variant23_3 = variant11_0;
              variant23_4 = variant11_1;
              variant23_5 = 0;
              variant23_6 = 0;
              variant23_7 = 0n;
              variant23_8 = 0;
              variant23_9 = 0n;
              variant23_10 = 0;
              break;
            }
            case 'failed': {
              const e = variant23.val;
              var {kind: v12_0, retryAfterMs: v12_1, serverReference: v12_2 } = e;
              var variant19 = v12_0;
              let variant19_0;
              let variant19_1;
              let variant19_2;
              let variant19_3;
              let variant19_4;
              switch (variant19.tag) {
                case 'network': {
                  const e = variant19.val;
                  var val13 = e;
                  let enum13;
                  switch (val13) {
                    case 'dns': {
                      enum13 = 0;
                      break;
                    }
                    case 'refused': {
                      enum13 = 1;
                      break;
                    }
                    case 'reset': {
                      enum13 = 2;
                      break;
                    }
                    case 'unreachable': {
                      enum13 = 3;
                      break;
                    }
                    case 'timeout': {
                      enum13 = 4;
                      break;
                    }
                    case 'tls': {
                      enum13 = 5;
                      break;
                    }
                    case 'closed': {
                      enum13 = 6;
                      break;
                    }
                    default: {
                      if ((e) instanceof Error) {
                        console.error(e);
                      }
                      
                      throw new TypeError(`"${val13}" is not one of the cases of network-error`);
                    }
                  }
                  variant19_0 = 0;
                  variant19_1 = enum13;
                  variant19_2 = 0;
                  variant19_3 = 0;
                  variant19_4 = 0;
                  break;
                }
                case 'protocol': {
                  const e = variant19.val;
                  var variant17 = e;
                  let variant17_0;
                  let variant17_1;
                  let variant17_2;
                  let variant17_3;
                  switch (variant17.tag) {
                    case 'mqtt-connack': {
                      const e = variant17.val;
                      variant17_0 = 0;
                      variant17_1 = toUint8(e);
                      variant17_2 = 0;
                      variant17_3 = 0;
                      break;
                    }
                    case 'mqtt-reason': {
                      const e = variant17.val;
                      variant17_0 = 1;
                      variant17_1 = toUint8(e);
                      variant17_2 = 0;
                      variant17_3 = 0;
                      break;
                    }
                    case 'amqp': {
                      const e = variant17.val;
                      
                      var encodeRes = _utf8AllocateAndEncode(e, realloc0, memory0);
                      var ptr14= encodeRes.ptr;
                      var len14 = encodeRes.len;
                      
                      variant17_0 = 2;
                      variant17_1 = ptr14;
                      variant17_2 = len14;
                      variant17_3 = 0;
                      break;
                    }
                    case 'http': {
                      const e = variant17.val;
                      var {status: v15_0, hubCode: v15_1 } = e;
                      var variant16 = v15_1;
                      let variant16_0;
                      let variant16_1;
                      if (variant16 === null || variant16=== undefined) {
                        variant16_0 = 0;
                        variant16_1 = 0;
                      } else {
                        const e = variant16;
                        variant16_0 = 1;
                        variant16_1 = toUint32(e);
                      }
                      variant17_0 = 3;
                      variant17_1 = toUint16(v15_0);
                      variant17_2 = variant16_0;
                      variant17_3 = variant16_1;
                      break;
                    }
                    case 'keep-alive-lost': {
                      variant17_0 = 4;
                      variant17_1 = 0;
                      variant17_2 = 0;
                      variant17_3 = 0;
                      break;
                    }
                    case 'session-expired': {
                      variant17_0 = 5;
                      variant17_1 = 0;
                      variant17_2 = 0;
                      variant17_3 = 0;
                      break;
                    }
                    case 'link-detached': {
                      variant17_0 = 6;
                      variant17_1 = 0;
                      variant17_2 = 0;
                      variant17_3 = 0;
                      break;
                    }
                    default: {
                      throw new TypeError(`invalid variant tag value \`${JSON.stringify(variant17.tag)}\` (received \`${variant17}\`) specified for \`ProtocolError\``);
                    }
                  }
                  variant19_0 = 1;
                  variant19_1 = variant17_0;
                  variant19_2 = variant17_1;
                  variant19_3 = variant17_2;
                  variant19_4 = variant17_3;
                  break;
                }
                case 'application': {
                  const e = variant19.val;
                  var val18 = e;
                  let enum18;
                  switch (val18) {
                    case 'unauthorized': {
                      enum18 = 0;
                      break;
                    }
                    case 'credential-expired': {
                      enum18 = 1;
                      break;
                    }
                    case 'forbidden': {
                      enum18 = 2;
                      break;
                    }
                    case 'device-not-found': {
                      enum18 = 3;
                      break;
                    }
                    case 'device-disabled': {
                      enum18 = 4;
                      break;
                    }
                    case 'quota-exceeded': {
                      enum18 = 5;
                      break;
                    }
                    case 'throttled': {
                      enum18 = 6;
                      break;
                    }
                    case 'bad-endpoint': {
                      enum18 = 7;
                      break;
                    }
                    default: {
                      if ((e) instanceof Error) {
                        console.error(e);
                      }
                      
                      throw new TypeError(`"${val18}" is not one of the cases of application-error`);
                    }
                  }
                  variant19_0 = 2;
                  variant19_1 = enum18;
                  variant19_2 = 0;
                  variant19_3 = 0;
                  variant19_4 = 0;
                  break;
                }
                default: {
                  throw new TypeError(`invalid variant tag value \`${JSON.stringify(variant19.tag)}\` (received \`${variant19}\`) specified for \`FailureKind\``);
                }
              }
              var variant20 = v12_1;
              let variant20_0;
              let variant20_1;
              if (variant20 === null || variant20=== undefined) {
                variant20_0 = 0;
                variant20_1 = 0n;
              } else {
                const e = variant20;
                variant20_0 = 1;
                variant20_1 = toUint64(e);
              }
              var variant22 = v12_2;
              let variant22_0;
              let variant22_1;
              let variant22_2;
              if (variant22 === null || variant22=== undefined) {
                variant22_0 = 0;
                variant22_1 = 0;
                variant22_2 = 0;
              } else {
                const e = variant22;
                
                var encodeRes = _utf8AllocateAndEncode(e, realloc0, memory0);
                var ptr21= encodeRes.ptr;
                var len21 = encodeRes.len;
                
                variant22_0 = 1;
                variant22_1 = ptr21;
                variant22_2 = len21;
              }
              variant23_0 = 2;
              variant23_1 = variant19_0;
              variant23_2 = variant19_1;
              variant23_3 = variant19_2;
              variant23_4 = BigInt(variant19_3);
              variant23_5 = variant19_4;
              variant23_6 = variant20_0;
              variant23_7 = variant20_1;
              variant23_8 = variant22_0;
              variant23_9 = BigInt(variant22_1);
              variant23_10 = variant22_2;
              break;
            }
            default: {
              throw new TypeError(`invalid variant tag value \`${JSON.stringify(variant23.tag)}\` (received \`${variant23}\`) specified for \`ProvisioningResult\``);
            }
          }
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.on-provisioned"][Instruction::CallWasm] enter', {
            funcName: '[method]connection.on-provisioned',
            paramCount: 12,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => connection010MethodConnectionOnProvisioned(handle0, variant23_0, variant23_1, variant23_2, variant23_3, variant23_4, variant23_5, variant23_6, variant23_7, variant23_8, variant23_9, variant23_10),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          let variant25;
          switch (dataView(memory0).getUint8(ret + 0, true)) {
            case 0: {
              variant25= {
                tag: 'ok',
                val: undefined
              };
              break;
            }
            case 1: {
              let enum24;
              switch (dataView(memory0).getUint8(ret + 1, true)) {
                case 0: {
                  enum24 = 'stale-link';
                  break;
                }
                case 1: {
                  enum24 = 'unexpected';
                  break;
                }
                case 2: {
                  enum24 = 'unknown-message';
                  break;
                }
                case 3: {
                  enum24 = 'stopped';
                  break;
                }
                default: {
                  throw new TypeError('invalid discriminant specified for InputError');
                }
              }
              variant25= {
                tag: 'err',
                val: enum24
              };
              break;
            }
            default: {
              throw new TypeError('invalid variant discriminant for expected');
            }
          }
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.on-provisioned"][Instruction::Return]', {
            funcName: '[method]connection.on-provisioned',
            paramCount: 1,
            async: false,
            postReturn: false
          });
          const retCopy = variant25;
          task.resolve([retCopy.val]);
          task.exit();
          
          if (typeof retCopy === 'object' && retCopy.tag === 'err') {
            throw new ComponentError(retCopy.val);
          }
          return retCopy.val;
          
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let connection010MethodConnectionOnCredential;
  
  Connection.prototype.onCredential = function onCredential(arg1) {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'connection010MethodConnectionOnCredential',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'throw-result-err',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (0!== null) {
      task.setReturnMemoryIdx(0);
      task.setReturnMemory((() => memory0)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable0[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"Connection\" resource.');
          }
          var handle0 = handleTable0[(handle1 << 1) + 1] & ~T_FLAG;
          
          var variant16 = arg1;
          let variant16_0;
          let variant16_1;
          let variant16_2;
          let variant16_3;
          let variant16_4;
          let variant16_5;
          let variant16_6;
          let variant16_7;
          let variant16_8;
          let variant16_9;
          let variant16_10;
          switch (variant16.tag) {
            case 'ok': {
              const e = variant16.val;
              var {secret: v2_0, lifetimeMs: v2_1 } = e;
              
              var encodeRes = _utf8AllocateAndEncode(v2_0, realloc0, memory0);
              var ptr3= encodeRes.ptr;
              var len3 = encodeRes.len;
              
              var variant4 = v2_1;
              let variant4_0;
              let variant4_1;
              if (variant4 === null || variant4=== undefined) {
                variant4_0 = 0;
                variant4_1 = 0n;
              } else {
                const e = variant4;
                variant4_0 = 1;
                variant4_1 = toUint64(e);
              }
              variant16_0 = 0;
              variant16_1 = ptr3;
              variant16_2 = len3;
              variant16_3 = variant4_0;
              variant16_4 = variant4_1;
              variant16_5 = 0;
              variant16_6 = 0;
              variant16_7 = 0n;
              variant16_8 = 0;
              variant16_9 = 0;
              variant16_10 = 0;
              
              break;
            }
            case 'err': {
              const e = variant16.val;
              var {kind: v5_0, retryAfterMs: v5_1, serverReference: v5_2 } = e;
              var variant12 = v5_0;
              let variant12_0;
              let variant12_1;
              let variant12_2;
              let variant12_3;
              let variant12_4;
              switch (variant12.tag) {
                case 'network': {
                  const e = variant12.val;
                  var val6 = e;
                  let enum6;
                  switch (val6) {
                    case 'dns': {
                      enum6 = 0;
                      break;
                    }
                    case 'refused': {
                      enum6 = 1;
                      break;
                    }
                    case 'reset': {
                      enum6 = 2;
                      break;
                    }
                    case 'unreachable': {
                      enum6 = 3;
                      break;
                    }
                    case 'timeout': {
                      enum6 = 4;
                      break;
                    }
                    case 'tls': {
                      enum6 = 5;
                      break;
                    }
                    case 'closed': {
                      enum6 = 6;
                      break;
                    }
                    default: {
                      if ((e) instanceof Error) {
                        console.error(e);
                      }
                      
                      throw new TypeError(`"${val6}" is not one of the cases of network-error`);
                    }
                  }
                  variant12_0 = 0;
                  variant12_1 = enum6;
                  variant12_2 = 0;
                  variant12_3 = 0;
                  variant12_4 = 0;
                  break;
                }
                case 'protocol': {
                  const e = variant12.val;
                  var variant10 = e;
                  let variant10_0;
                  let variant10_1;
                  let variant10_2;
                  let variant10_3;
                  switch (variant10.tag) {
                    case 'mqtt-connack': {
                      const e = variant10.val;
                      variant10_0 = 0;
                      variant10_1 = toUint8(e);
                      variant10_2 = 0;
                      variant10_3 = 0;
                      break;
                    }
                    case 'mqtt-reason': {
                      const e = variant10.val;
                      variant10_0 = 1;
                      variant10_1 = toUint8(e);
                      variant10_2 = 0;
                      variant10_3 = 0;
                      break;
                    }
                    case 'amqp': {
                      const e = variant10.val;
                      
                      var encodeRes = _utf8AllocateAndEncode(e, realloc0, memory0);
                      var ptr7= encodeRes.ptr;
                      var len7 = encodeRes.len;
                      
                      variant10_0 = 2;
                      variant10_1 = ptr7;
                      variant10_2 = len7;
                      variant10_3 = 0;
                      break;
                    }
                    case 'http': {
                      const e = variant10.val;
                      var {status: v8_0, hubCode: v8_1 } = e;
                      var variant9 = v8_1;
                      let variant9_0;
                      let variant9_1;
                      if (variant9 === null || variant9=== undefined) {
                        variant9_0 = 0;
                        variant9_1 = 0;
                      } else {
                        const e = variant9;
                        variant9_0 = 1;
                        variant9_1 = toUint32(e);
                      }
                      variant10_0 = 3;
                      variant10_1 = toUint16(v8_0);
                      variant10_2 = variant9_0;
                      variant10_3 = variant9_1;
                      break;
                    }
                    case 'keep-alive-lost': {
                      variant10_0 = 4;
                      variant10_1 = 0;
                      variant10_2 = 0;
                      variant10_3 = 0;
                      break;
                    }
                    case 'session-expired': {
                      variant10_0 = 5;
                      variant10_1 = 0;
                      variant10_2 = 0;
                      variant10_3 = 0;
                      break;
                    }
                    case 'link-detached': {
                      variant10_0 = 6;
                      variant10_1 = 0;
                      variant10_2 = 0;
                      variant10_3 = 0;
                      break;
                    }
                    default: {
                      throw new TypeError(`invalid variant tag value \`${JSON.stringify(variant10.tag)}\` (received \`${variant10}\`) specified for \`ProtocolError\``);
                    }
                  }
                  variant12_0 = 1;
                  variant12_1 = variant10_0;
                  variant12_2 = variant10_1;
                  variant12_3 = variant10_2;
                  variant12_4 = variant10_3;
                  break;
                }
                case 'application': {
                  const e = variant12.val;
                  var val11 = e;
                  let enum11;
                  switch (val11) {
                    case 'unauthorized': {
                      enum11 = 0;
                      break;
                    }
                    case 'credential-expired': {
                      enum11 = 1;
                      break;
                    }
                    case 'forbidden': {
                      enum11 = 2;
                      break;
                    }
                    case 'device-not-found': {
                      enum11 = 3;
                      break;
                    }
                    case 'device-disabled': {
                      enum11 = 4;
                      break;
                    }
                    case 'quota-exceeded': {
                      enum11 = 5;
                      break;
                    }
                    case 'throttled': {
                      enum11 = 6;
                      break;
                    }
                    case 'bad-endpoint': {
                      enum11 = 7;
                      break;
                    }
                    default: {
                      if ((e) instanceof Error) {
                        console.error(e);
                      }
                      
                      throw new TypeError(`"${val11}" is not one of the cases of application-error`);
                    }
                  }
                  variant12_0 = 2;
                  variant12_1 = enum11;
                  variant12_2 = 0;
                  variant12_3 = 0;
                  variant12_4 = 0;
                  break;
                }
                default: {
                  throw new TypeError(`invalid variant tag value \`${JSON.stringify(variant12.tag)}\` (received \`${variant12}\`) specified for \`FailureKind\``);
                }
              }
              var variant13 = v5_1;
              let variant13_0;
              let variant13_1;
              if (variant13 === null || variant13=== undefined) {
                variant13_0 = 0;
                variant13_1 = 0n;
              } else {
                const e = variant13;
                variant13_0 = 1;
                variant13_1 = toUint64(e);
              }
              var variant15 = v5_2;
              let variant15_0;
              let variant15_1;
              let variant15_2;
              if (variant15 === null || variant15=== undefined) {
                variant15_0 = 0;
                variant15_1 = 0;
                variant15_2 = 0;
              } else {
                const e = variant15;
                
                var encodeRes = _utf8AllocateAndEncode(e, realloc0, memory0);
                var ptr14= encodeRes.ptr;
                var len14 = encodeRes.len;
                
                variant15_0 = 1;
                variant15_1 = ptr14;
                variant15_2 = len14;
              }
              variant16_0 = 1;
              variant16_1 = variant12_0;
              variant16_2 = variant12_1;
              variant16_3 = variant12_2;
              variant16_4 = BigInt(variant12_3);
              variant16_5 = variant12_4;
              variant16_6 = variant13_0;
              variant16_7 = variant13_1;
              variant16_8 = variant15_0;
              variant16_9 = variant15_1;
              variant16_10 = variant15_2;
              
              break;
            }
            default: {
              _debugLog("ERROR: invalid value (expected result as object with 'tag' member)", { value: variant16, valueType: typeof variant16});
              throw new TypeError('invalid variant specified for result');
            }
          }
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.on-credential"][Instruction::CallWasm] enter', {
            funcName: '[method]connection.on-credential',
            paramCount: 12,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => connection010MethodConnectionOnCredential(handle0, variant16_0, variant16_1, variant16_2, variant16_3, variant16_4, variant16_5, variant16_6, variant16_7, variant16_8, variant16_9, variant16_10),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          let variant18;
          switch (dataView(memory0).getUint8(ret + 0, true)) {
            case 0: {
              variant18= {
                tag: 'ok',
                val: undefined
              };
              break;
            }
            case 1: {
              let enum17;
              switch (dataView(memory0).getUint8(ret + 1, true)) {
                case 0: {
                  enum17 = 'stale-link';
                  break;
                }
                case 1: {
                  enum17 = 'unexpected';
                  break;
                }
                case 2: {
                  enum17 = 'unknown-message';
                  break;
                }
                case 3: {
                  enum17 = 'stopped';
                  break;
                }
                default: {
                  throw new TypeError('invalid discriminant specified for InputError');
                }
              }
              variant18= {
                tag: 'err',
                val: enum17
              };
              break;
            }
            default: {
              throw new TypeError('invalid variant discriminant for expected');
            }
          }
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.on-credential"][Instruction::Return]', {
            funcName: '[method]connection.on-credential',
            paramCount: 1,
            async: false,
            postReturn: false
          });
          const retCopy = variant18;
          task.resolve([retCopy.val]);
          task.exit();
          
          if (typeof retCopy === 'object' && retCopy.tag === 'err') {
            throw new ComponentError(retCopy.val);
          }
          return retCopy.val;
          
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let connection010MethodConnectionOnWake;
  
  Connection.prototype.onWake = function onWake() {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'connection010MethodConnectionOnWake',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'none',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (null!== null) {
      task.setReturnMemoryIdx(null);
      task.setReturnMemory((() => null)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable0[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"Connection\" resource.');
          }
          var handle0 = handleTable0[(handle1 << 1) + 1] & ~T_FLAG;
          
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.on-wake"][Instruction::CallWasm] enter', {
            funcName: '[method]connection.on-wake',
            paramCount: 1,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => connection010MethodConnectionOnWake(handle0),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.on-wake"][Instruction::Return]', {
            funcName: '[method]connection.on-wake',
            paramCount: 0,
            async: false,
            postReturn: false
          });
          task.resolve([ret]);
          task.exit();
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let connection010MethodConnectionPublish;
  
  Connection.prototype.publish = function publish(arg1, arg2) {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'connection010MethodConnectionPublish',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'throw-result-err',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (0!== null) {
      task.setReturnMemoryIdx(0);
      task.setReturnMemory((() => memory0)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable0[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"Connection\" resource.');
          }
          var handle0 = handleTable0[(handle1 << 1) + 1] & ~T_FLAG;
          
          
          var encodeRes = _utf8AllocateAndEncode(arg1, realloc0, memory0);
          var ptr2= encodeRes.ptr;
          var len2 = encodeRes.len;
          
          var val3 = arg2;
          var len3 = Array.isArray(val3) ? val3.length : val3.byteLength;
          var ptr3 = realloc0(0, 0, 1, len3 * 1);
          
          let valData3;
          const valLenBytes3 = len3 * 1;
          if (Array.isArray(val3)) {
            // Regular array likely containing numbers, write values to memory
            let offset = 0;
            const dv3 = new DataView(memory0.buffer);
            for (const v of val3) {
              _requireValidNumericPrimitive.bind(null, 'u8')(v);
              dv3.setUint8(ptr3+ offset, v, true);
              offset += 1;
            }
          } else {
            // TypedArray / ArrayBuffer-like, direct copy
            valData3 = new Uint8Array(val3.buffer || val3, val3.byteOffset, valLenBytes3);
            const out3 = new Uint8Array(memory0.buffer, ptr3, valLenBytes3);
            out3.set(valData3);
          }
          
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.publish"][Instruction::CallWasm] enter', {
            funcName: '[method]connection.publish',
            paramCount: 5,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => connection010MethodConnectionPublish(handle0, ptr2, len2, ptr3, len3),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          let variant5;
          switch (dataView(memory0).getUint8(ret + 0, true)) {
            case 0: {
              variant5= {
                tag: 'ok',
                val: BigInt.asUintN(64, BigInt(dataView(memory0).getBigInt64(ret + 8, true)))
              };
              break;
            }
            case 1: {
              let enum4;
              switch (dataView(memory0).getUint8(ret + 8, true)) {
                case 0: {
                  enum4 = 'queue-full';
                  break;
                }
                case 1: {
                  enum4 = 'payload-too-large';
                  break;
                }
                case 2: {
                  enum4 = 'empty-topic';
                  break;
                }
                case 3: {
                  enum4 = 'stopped';
                  break;
                }
                default: {
                  throw new TypeError('invalid discriminant specified for PublishError');
                }
              }
              variant5= {
                tag: 'err',
                val: enum4
              };
              break;
            }
            default: {
              throw new TypeError('invalid variant discriminant for expected');
            }
          }
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.publish"][Instruction::Return]', {
            funcName: '[method]connection.publish',
            paramCount: 1,
            async: false,
            postReturn: false
          });
          const retCopy = variant5;
          task.resolve([retCopy.val]);
          task.exit();
          
          if (typeof retCopy === 'object' && retCopy.tag === 'err') {
            throw new ComponentError(retCopy.val);
          }
          return retCopy.val;
          
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let connection010MethodConnectionStop;
  
  Connection.prototype.stop = function stop() {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'connection010MethodConnectionStop',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'none',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (null!== null) {
      task.setReturnMemoryIdx(null);
      task.setReturnMemory((() => null)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable0[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"Connection\" resource.');
          }
          var handle0 = handleTable0[(handle1 << 1) + 1] & ~T_FLAG;
          
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.stop"][Instruction::CallWasm] enter', {
            funcName: '[method]connection.stop',
            paramCount: 1,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => connection010MethodConnectionStop(handle0),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.stop"][Instruction::Return]', {
            funcName: '[method]connection.stop',
            paramCount: 0,
            async: false,
            postReturn: false
          });
          task.resolve([ret]);
          task.exit();
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let connection010MethodConnectionCurrentStatus;
  
  Connection.prototype.currentStatus = function currentStatus() {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'connection010MethodConnectionCurrentStatus',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'none',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (0!== null) {
      task.setReturnMemoryIdx(0);
      task.setReturnMemory((() => memory0)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable0[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"Connection\" resource.');
          }
          var handle0 = handleTable0[(handle1 << 1) + 1] & ~T_FLAG;
          
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.current-status"][Instruction::CallWasm] enter', {
            funcName: '[method]connection.current-status',
            paramCount: 1,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => connection010MethodConnectionCurrentStatus(handle0),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          let enum2;
          switch (dataView(memory0).getUint8(ret + 8, true)) {
            case 0: {
              enum2 = 'connected';
              break;
            }
            case 1: {
              enum2 = 'disconnected-retrying';
              break;
            }
            case 2: {
              enum2 = 'disconnected';
              break;
            }
            case 3: {
              enum2 = 'disabled';
              break;
            }
            default: {
              throw new TypeError('invalid discriminant specified for Status');
            }
          }
          let enum3;
          switch (dataView(memory0).getUint8(ret + 9, true)) {
            case 0: {
              enum3 = 'connection-ok';
              break;
            }
            case 1: {
              enum3 = 'credential-renewal';
              break;
            }
            case 2: {
              enum3 = 'expired-credential';
              break;
            }
            case 3: {
              enum3 = 'bad-credential';
              break;
            }
            case 4: {
              enum3 = 'device-disabled';
              break;
            }
            case 5: {
              enum3 = 'device-not-found';
              break;
            }
            case 6: {
              enum3 = 'retry-expired';
              break;
            }
            case 7: {
              enum3 = 'no-network';
              break;
            }
            case 8: {
              enum3 = 'communication-error';
              break;
            }
            case 9: {
              enum3 = 'no-ping-response';
              break;
            }
            case 10: {
              enum3 = 'quota-exceeded';
              break;
            }
            case 11: {
              enum3 = 'throttled';
              break;
            }
            case 12: {
              enum3 = 'server-busy';
              break;
            }
            case 13: {
              enum3 = 'server-moved';
              break;
            }
            case 14: {
              enum3 = 'provisioning';
              break;
            }
            case 15: {
              enum3 = 'protocol-error';
              break;
            }
            case 16: {
              enum3 = 'bad-endpoint';
              break;
            }
            case 17: {
              enum3 = 'session-taken-over';
              break;
            }
            case 18: {
              enum3 = 'client-close';
              break;
            }
            default: {
              throw new TypeError('invalid discriminant specified for Reason');
            }
          }
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.current-status"][Instruction::Return]', {
            funcName: '[method]connection.current-status',
            paramCount: 1,
            async: false,
            postReturn: false
          });
          task.resolve([{
            at: BigInt.asUintN(64, BigInt(dataView(memory0).getBigInt64(ret + 0, true))),
            status: enum2,
            reason: enum3,
          }]);
          task.exit();
          return {
            at: BigInt.asUintN(64, BigInt(dataView(memory0).getBigInt64(ret + 0, true))),
            status: enum2,
            reason: enum3,
          };
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let connection010MethodConnectionNextWake;
  
  Connection.prototype.nextWake = function nextWake() {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'connection010MethodConnectionNextWake',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'none',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (0!== null) {
      task.setReturnMemoryIdx(0);
      task.setReturnMemory((() => memory0)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable0[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"Connection\" resource.');
          }
          var handle0 = handleTable0[(handle1 << 1) + 1] & ~T_FLAG;
          
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.next-wake"][Instruction::CallWasm] enter', {
            funcName: '[method]connection.next-wake',
            paramCount: 1,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => connection010MethodConnectionNextWake(handle0),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          let variant2;
          switch (dataView(memory0).getUint8(ret + 0, true)) {
            case 0: {
              variant2 = undefined;
              break;
            }
            case 1: {
              variant2 = BigInt.asUintN(64, BigInt(dataView(memory0).getBigInt64(ret + 8, true)));
              break;
            }
            default: {
              throw new TypeError('invalid variant discriminant for option');
            }
          }
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.next-wake"][Instruction::Return]', {
            funcName: '[method]connection.next-wake',
            paramCount: 1,
            async: false,
            postReturn: false
          });
          task.resolve([variant2]);
          task.exit();
          return variant2;
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  let connection010MethodConnectionPendingMessages;
  
  Connection.prototype.pendingMessages = function pendingMessages() {
    
    const hostProvided = false;
    getOrCreateAsyncState(0).throwIfTrapped();
    
    const [task, _wasm_call_currentTaskID] = createNewCurrentTask({
      componentIdx: 0,
      isAsync: false,
      isManualAsync: false,
      preserveFutureResult: false,
      entryFnName: 'connection010MethodConnectionPendingMessages',
      getCallbackFn: () => null,
      callbackFnName: null,
      errHandling: 'none',
      callingWasmExport: true,
    });
    task.setCalleeIsAsync(false);
    
    const started = task.enterSync();
    CURRENT_TASK_MAY_BLOCK.value = task.mayBlock() ? 1 : 0;
    
    if (null!== null) {
      task.setReturnMemoryIdx(null);
      task.setReturnMemory((() => null)());
    }
    
    
    return _withGlobalCurrentTaskMeta({
      taskID: task.id(),
      componentIdx: task.componentIdx(),
      fn: () => {
        try {
          
          
          var handle1 = this[symbolRscHandle];
          if (!handle1 || (handleTable0[(handle1 << 1) + 1] & T_FLAG) === 0) {
            throw new TypeError('Resource error: Not a valid \"Connection\" resource.');
          }
          var handle0 = handleTable0[(handle1 << 1) + 1] & ~T_FLAG;
          
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.pending-messages"][Instruction::CallWasm] enter', {
            funcName: '[method]connection.pending-messages',
            paramCount: 1,
            async: false,
            postReturn: false,
          });
          
          let ret;
          
          try {
            ret =  _withGlobalCurrentTaskMeta({
              taskID: task.id(),
              componentIdx: task.componentIdx(),
              fn: () => connection010MethodConnectionPendingMessages(handle0),
            });
          } catch (err) {
            
            _debugLog('[Instruction::CallWasm] error during sync call', {
              taskID: task.id(),
              err,
            });
            getOrCreateAsyncState(0).markTrapped(err);
            task.setErrored(err);
            task.reject(err);
            task.exit();
            throw err;
            
          }
          
          _debugLog('[iface="tether:reconnect/connection@0.1.0", function="[method]connection.pending-messages"][Instruction::Return]', {
            funcName: '[method]connection.pending-messages',
            paramCount: 1,
            async: false,
            postReturn: false
          });
          task.resolve([ret >>> 0]);
          task.exit();
          return ret >>> 0;
          
        } catch (err) {
          if (!task.isResolvedState()) {
            task.setErrored(err);
            task.reject(err);
          }
          if (!task.isExited()) { task.exit({ skipExclusiveLockCheck: true }); }
          throw err;
        }
      },
    });
    
  };
  const trampoline0 = rscTableCreateOwn.bind(null, handleTable0);
  const trampoline1 = rscTableCreateOwn.bind(null, handleTable1);
  let trampoline2 = _trampoline2.manuallyAsync ? new WebAssembly.Suspending(_suspendingImport(0, _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 2,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline2.manuallyAsync,
    paramLiftFns: [_liftFlatU64],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: null,
    stringEncoding: 'utf8',
    getMemoryFn: () => null,
    getReallocFn: undefined,
    importFn: _trampoline2,
  },
  ))) : _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 2,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline2.manuallyAsync,
    paramLiftFns: [_liftFlatU64],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: null,
    stringEncoding: 'utf8',
    getMemoryFn: () => null,
    getReallocFn: undefined,
    importFn: _trampoline2,
  },
  );
  let trampoline3 = _trampoline3.manuallyAsync ? new WebAssembly.Suspending(_suspendingImport(0, _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 3,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline3.manuallyAsync,
    paramLiftFns: [],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: null,
    stringEncoding: 'utf8',
    getMemoryFn: () => null,
    getReallocFn: undefined,
    importFn: _trampoline3,
  },
  ))) : _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 3,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline3.manuallyAsync,
    paramLiftFns: [],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: null,
    stringEncoding: 'utf8',
    getMemoryFn: () => null,
    getReallocFn: undefined,
    importFn: _trampoline3,
  },
  );
  let trampoline4 = _trampoline4.manuallyAsync ? new WebAssembly.Suspending(_suspendingImport(0, _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 4,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline4.manuallyAsync,
    paramLiftFns: [],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: null,
    stringEncoding: 'utf8',
    getMemoryFn: () => null,
    getReallocFn: undefined,
    importFn: _trampoline4,
  },
  ))) : _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 4,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline4.manuallyAsync,
    paramLiftFns: [],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: null,
    stringEncoding: 'utf8',
    getMemoryFn: () => null,
    getReallocFn: undefined,
    importFn: _trampoline4,
  },
  );
  let trampoline5 = _trampoline5.manuallyAsync ? new WebAssembly.Suspending(_suspendingImport(0, _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 5,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline5.manuallyAsync,
    paramLiftFns: [_liftFlatRecord({ fieldMetas: [['at', _liftFlatU64, 8, 8],['status', 
    _liftFlatEnum({
      caseMetas: [['connected', null, 1, 1, 1],['disconnected-retrying', null, 1, 1, 1],['disconnected', null, 1, 1, 1],['disabled', null, 1, 1, 1],],
      variantSize32: 1,
      variantAlign32: 1,
      variantPayloadOffset32: 1,
      variantFlatCount: 1,
    })
    , 1, 1],['reason', 
    _liftFlatEnum({
      caseMetas: [['connection-ok', null, 1, 1, 1],['credential-renewal', null, 1, 1, 1],['expired-credential', null, 1, 1, 1],['bad-credential', null, 1, 1, 1],['device-disabled', null, 1, 1, 1],['device-not-found', null, 1, 1, 1],['retry-expired', null, 1, 1, 1],['no-network', null, 1, 1, 1],['communication-error', null, 1, 1, 1],['no-ping-response', null, 1, 1, 1],['quota-exceeded', null, 1, 1, 1],['throttled', null, 1, 1, 1],['server-busy', null, 1, 1, 1],['server-moved', null, 1, 1, 1],['provisioning', null, 1, 1, 1],['protocol-error', null, 1, 1, 1],['bad-endpoint', null, 1, 1, 1],['session-taken-over', null, 1, 1, 1],['client-close', null, 1, 1, 1],],
      variantSize32: 1,
      variantAlign32: 1,
      variantPayloadOffset32: 1,
      variantFlatCount: 1,
    })
    , 1, 1],], size32: 16, align32: 8 })],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: null,
    stringEncoding: 'utf8',
    getMemoryFn: () => null,
    getReallocFn: undefined,
    importFn: _trampoline5,
  },
  ))) : _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 5,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline5.manuallyAsync,
    paramLiftFns: [_liftFlatRecord({ fieldMetas: [['at', _liftFlatU64, 8, 8],['status', 
    _liftFlatEnum({
      caseMetas: [['connected', null, 1, 1, 1],['disconnected-retrying', null, 1, 1, 1],['disconnected', null, 1, 1, 1],['disabled', null, 1, 1, 1],],
      variantSize32: 1,
      variantAlign32: 1,
      variantPayloadOffset32: 1,
      variantFlatCount: 1,
    })
    , 1, 1],['reason', 
    _liftFlatEnum({
      caseMetas: [['connection-ok', null, 1, 1, 1],['credential-renewal', null, 1, 1, 1],['expired-credential', null, 1, 1, 1],['bad-credential', null, 1, 1, 1],['device-disabled', null, 1, 1, 1],['device-not-found', null, 1, 1, 1],['retry-expired', null, 1, 1, 1],['no-network', null, 1, 1, 1],['communication-error', null, 1, 1, 1],['no-ping-response', null, 1, 1, 1],['quota-exceeded', null, 1, 1, 1],['throttled', null, 1, 1, 1],['server-busy', null, 1, 1, 1],['server-moved', null, 1, 1, 1],['provisioning', null, 1, 1, 1],['protocol-error', null, 1, 1, 1],['bad-endpoint', null, 1, 1, 1],['session-taken-over', null, 1, 1, 1],['client-close', null, 1, 1, 1],],
      variantSize32: 1,
      variantAlign32: 1,
      variantPayloadOffset32: 1,
      variantFlatCount: 1,
    })
    , 1, 1],], size32: 16, align32: 8 })],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: null,
    stringEncoding: 'utf8',
    getMemoryFn: () => null,
    getReallocFn: undefined,
    importFn: _trampoline5,
  },
  );
  let trampoline6 = _trampoline6.manuallyAsync ? new WebAssembly.Suspending(_suspendingImport(0, _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 6,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline6.manuallyAsync,
    paramLiftFns: [_liftFlatU64,_liftFlatVariant({
      caseMetas: [['delivered', null, 0, 0, 0, []],['failed', 
      _liftFlatEnum({
        caseMetas: [['operation-timeout', null, 1, 1, 1],['no-retry', null, 1, 1, 1],['queue-full', null, 1, 1, 1],['unrecoverable', null, 1, 1, 1],['retry-expired', null, 1, 1, 1],['client-close', null, 1, 1, 1],],
        variantSize32: 1,
        variantAlign32: 1,
        variantPayloadOffset32: 1,
        variantFlatCount: 1,
      })
      , 1, 1, 1, ['i32']],],
      variantSize32: 2,
      variantAlign32: 1,
      variantPayloadOffset32: 1,
      variantFlatCount: 2,
      variantPayloadFlatTypes: ['i32'],
    } )],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: null,
    stringEncoding: 'utf8',
    getMemoryFn: () => null,
    getReallocFn: undefined,
    importFn: _trampoline6,
  },
  ))) : _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 6,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline6.manuallyAsync,
    paramLiftFns: [_liftFlatU64,_liftFlatVariant({
      caseMetas: [['delivered', null, 0, 0, 0, []],['failed', 
      _liftFlatEnum({
        caseMetas: [['operation-timeout', null, 1, 1, 1],['no-retry', null, 1, 1, 1],['queue-full', null, 1, 1, 1],['unrecoverable', null, 1, 1, 1],['retry-expired', null, 1, 1, 1],['client-close', null, 1, 1, 1],],
        variantSize32: 1,
        variantAlign32: 1,
        variantPayloadOffset32: 1,
        variantFlatCount: 1,
      })
      , 1, 1, 1, ['i32']],],
      variantSize32: 2,
      variantAlign32: 1,
      variantPayloadOffset32: 1,
      variantFlatCount: 2,
      variantPayloadFlatTypes: ['i32'],
    } )],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: null,
    stringEncoding: 'utf8',
    getMemoryFn: () => null,
    getReallocFn: undefined,
    importFn: _trampoline6,
  },
  );
  let trampoline7 = _trampoline7.manuallyAsync ? new WebAssembly.Suspending(_suspendingImport(0, _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 7,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline7.manuallyAsync,
    paramLiftFns: [_liftFlatU64],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: null,
    stringEncoding: 'utf8',
    getMemoryFn: () => null,
    getReallocFn: undefined,
    importFn: _trampoline7,
  },
  ))) : _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 7,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline7.manuallyAsync,
    paramLiftFns: [_liftFlatU64],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: null,
    stringEncoding: 'utf8',
    getMemoryFn: () => null,
    getReallocFn: undefined,
    importFn: _trampoline7,
  },
  );
  function trampoline8(handle) {
    const handleEntry = rscTableRemove(handleTable1, handle);
    if (handleEntry.own) {
      exports0['5'](handleEntry.rep);
    }
  }
  function trampoline9(handle) {
    const handleEntry = rscTableRemove(handleTable0, handle);
    if (handleEntry.own) {
      exports0['4'](handleEntry.rep);
    }
  }
  let trampoline10 = _trampoline10.manuallyAsync ? new WebAssembly.Suspending(_suspendingImport(0, _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 10,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline10.manuallyAsync,
    paramLiftFns: [],
    resultLowerFns: [_lowerFlatU64],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: null,
    stringEncoding: 'utf8',
    getMemoryFn: () => null,
    getReallocFn: undefined,
    importFn: _trampoline10,
  },
  ))) : _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 10,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline10.manuallyAsync,
    paramLiftFns: [],
    resultLowerFns: [_lowerFlatU64],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: null,
    stringEncoding: 'utf8',
    getMemoryFn: () => null,
    getReallocFn: undefined,
    importFn: _trampoline10,
  },
  );
  let trampoline11 = _trampoline11.manuallyAsync ? new WebAssembly.Suspending(_suspendingImport(0, _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 11,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline11.manuallyAsync,
    paramLiftFns: [],
    resultLowerFns: [_lowerFlatU64],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: null,
    stringEncoding: 'utf8',
    getMemoryFn: () => null,
    getReallocFn: undefined,
    importFn: _trampoline11,
  },
  ))) : _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 11,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline11.manuallyAsync,
    paramLiftFns: [],
    resultLowerFns: [_lowerFlatU64],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: null,
    stringEncoding: 'utf8',
    getMemoryFn: () => null,
    getReallocFn: undefined,
    importFn: _trampoline11,
  },
  );
  let trampoline12 = _trampoline12.manuallyAsync ? new WebAssembly.Suspending(_suspendingImport(0, _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 12,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline12.manuallyAsync,
    paramLiftFns: [_liftFlatU64,_liftFlatStringAny,
    _liftFlatOption({
      caseMetas: [
      ['none', null, 0, 0, 0, [] ],
      ['some', _liftFlatStringAny, 8, 4, 2, ['i32','i32'] ],
      ],
      variantSize32: 12,
      variantAlign32: 4,
      variantPayloadOffset32: 4,
      variantFlatCount: 3,
      variantPayloadFlatTypes: ['i32','i32'],
      payloadMaybeNull: false,
    })
    ,
    _liftFlatOption({
      caseMetas: [
      ['none', null, 0, 0, 0, [] ],
      ['some', _liftFlatStringAny, 8, 4, 2, ['i32','i32'] ],
      ],
      variantSize32: 12,
      variantAlign32: 4,
      variantPayloadOffset32: 4,
      variantFlatCount: 3,
      variantPayloadFlatTypes: ['i32','i32'],
      payloadMaybeNull: false,
    })
    ],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: 0,
    stringEncoding: 'utf8',
    getMemoryFn: () => memory0,
    getReallocFn: undefined,
    importFn: _trampoline12,
  },
  ))) : _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 12,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline12.manuallyAsync,
    paramLiftFns: [_liftFlatU64,_liftFlatStringAny,
    _liftFlatOption({
      caseMetas: [
      ['none', null, 0, 0, 0, [] ],
      ['some', _liftFlatStringAny, 8, 4, 2, ['i32','i32'] ],
      ],
      variantSize32: 12,
      variantAlign32: 4,
      variantPayloadOffset32: 4,
      variantFlatCount: 3,
      variantPayloadFlatTypes: ['i32','i32'],
      payloadMaybeNull: false,
    })
    ,
    _liftFlatOption({
      caseMetas: [
      ['none', null, 0, 0, 0, [] ],
      ['some', _liftFlatStringAny, 8, 4, 2, ['i32','i32'] ],
      ],
      variantSize32: 12,
      variantAlign32: 4,
      variantPayloadOffset32: 4,
      variantFlatCount: 3,
      variantPayloadFlatTypes: ['i32','i32'],
      payloadMaybeNull: false,
    })
    ],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: 0,
    stringEncoding: 'utf8',
    getMemoryFn: () => memory0,
    getReallocFn: undefined,
    importFn: _trampoline12,
  },
  );
  let trampoline13 = _trampoline13.manuallyAsync ? new WebAssembly.Suspending(_suspendingImport(0, _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 13,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline13.manuallyAsync,
    paramLiftFns: [_liftFlatU64,_liftFlatU64,_liftFlatStringAny,_liftFlatList({
      elemLiftFn: _liftFlatU8,
      elemAlign32: 1,
      elemSize32: 1,
      typedArray: Uint8Array,
    })],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: 0,
    stringEncoding: 'utf8',
    getMemoryFn: () => memory0,
    getReallocFn: undefined,
    importFn: _trampoline13,
  },
  ))) : _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 13,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline13.manuallyAsync,
    paramLiftFns: [_liftFlatU64,_liftFlatU64,_liftFlatStringAny,_liftFlatList({
      elemLiftFn: _liftFlatU8,
      elemAlign32: 1,
      elemSize32: 1,
      typedArray: Uint8Array,
    })],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: 0,
    stringEncoding: 'utf8',
    getMemoryFn: () => memory0,
    getReallocFn: undefined,
    importFn: _trampoline13,
  },
  );
  let trampoline14 = _trampoline14.manuallyAsync ? new WebAssembly.Suspending(_suspendingImport(0, _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 14,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline14.manuallyAsync,
    paramLiftFns: [_liftFlatStringAny],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: 0,
    stringEncoding: 'utf8',
    getMemoryFn: () => memory0,
    getReallocFn: undefined,
    importFn: _trampoline14,
  },
  ))) : _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 14,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline14.manuallyAsync,
    paramLiftFns: [_liftFlatStringAny],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: 0,
    stringEncoding: 'utf8',
    getMemoryFn: () => memory0,
    getReallocFn: undefined,
    importFn: _trampoline14,
  },
  );
  let trampoline15 = _trampoline15.manuallyAsync ? new WebAssembly.Suspending(_suspendingImport(0, _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 15,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline15.manuallyAsync,
    paramLiftFns: [_liftFlatRecord({ fieldMetas: [['at', _liftFlatU64, 8, 8],['cause', 
    _liftFlatOption({
      caseMetas: [
      ['none', null, 0, 0, 0, [] ],
      ['some', _liftFlatRecord({ fieldMetas: [['level', 
      _liftFlatEnum({
        caseMetas: [['network', null, 1, 1, 1],['protocol', null, 1, 1, 1],['application', null, 1, 1, 1],],
        variantSize32: 1,
        variantAlign32: 1,
        variantPayloadOffset32: 1,
        variantFlatCount: 1,
      })
      , 1, 1],['verdict', 
      _liftFlatEnum({
        caseMetas: [['retry', null, 1, 1, 1],['retry-throttled', null, 1, 1, 1],['renew-credential', null, 1, 1, 1],['reprovision', null, 1, 1, 1],['fatal', null, 1, 1, 1],],
        variantSize32: 1,
        variantAlign32: 1,
        variantPayloadOffset32: 1,
        variantFlatCount: 1,
      })
      , 1, 1],['reason', 
      _liftFlatEnum({
        caseMetas: [['connection-ok', null, 1, 1, 1],['credential-renewal', null, 1, 1, 1],['expired-credential', null, 1, 1, 1],['bad-credential', null, 1, 1, 1],['device-disabled', null, 1, 1, 1],['device-not-found', null, 1, 1, 1],['retry-expired', null, 1, 1, 1],['no-network', null, 1, 1, 1],['communication-error', null, 1, 1, 1],['no-ping-response', null, 1, 1, 1],['quota-exceeded', null, 1, 1, 1],['throttled', null, 1, 1, 1],['server-busy', null, 1, 1, 1],['server-moved', null, 1, 1, 1],['provisioning', null, 1, 1, 1],['protocol-error', null, 1, 1, 1],['bad-endpoint', null, 1, 1, 1],['session-taken-over', null, 1, 1, 1],['client-close', null, 1, 1, 1],],
        variantSize32: 1,
        variantAlign32: 1,
        variantPayloadOffset32: 1,
        variantFlatCount: 1,
      })
      , 1, 1],['rule', _liftFlatStringAny, 8, 4],], size32: 12, align32: 4 }), 12, 4, 5, ['i32','i32','i32','i32','i32'] ],
      ],
      variantSize32: 16,
      variantAlign32: 4,
      variantPayloadOffset32: 4,
      variantFlatCount: 6,
      variantPayloadFlatTypes: ['i32','i32','i32','i32','i32'],
      payloadMaybeNull: false,
    })
    , 16, 4],['action', _liftFlatVariant({
      caseMetas: [['connect', _liftFlatRecord({ fieldMetas: [['link', _liftFlatU64, 8, 8],['hub', _liftFlatStringAny, 8, 4],['attempt', _liftFlatU32, 4, 4],], size32: 24, align32: 8 }), 24, 8, 4, ['i64','i32','i32','i32']],['backoff', _liftFlatRecord({ fieldMetas: [['delayMs', _liftFlatU64, 8, 8],['attempt', _liftFlatU32, 4, 4],['curve', 
      _liftFlatEnum({
        caseMetas: [['normal', null, 1, 1, 1],['throttled', null, 1, 1, 1],['server-hint', null, 1, 1, 1],],
        variantSize32: 1,
        variantAlign32: 1,
        variantPayloadOffset32: 1,
        variantFlatCount: 1,
      })
      , 1, 1],['thenProvision', _liftFlatBool, 1, 1],], size32: 16, align32: 8 }), 16, 8, 4, ['i64','i32','i32','i32']],['renew-credential', _liftFlatBool, 1, 1, 1, ['i32']],['provision', null, 0, 0, 0, []],['poll-provisioning', _liftFlatU64, 8, 8, 1, ['i64']],['give-up', 
      _liftFlatEnum({
        caseMetas: [['no-retry', null, 1, 1, 1],['max-attempts', null, 1, 1, 1],['retry-timeout', null, 1, 1, 1],['unrecoverable', null, 1, 1, 1],],
        variantSize32: 1,
        variantAlign32: 1,
        variantPayloadOffset32: 1,
        variantFlatCount: 1,
      })
      , 1, 1, 1, ['i32']],],
      variantSize32: 32,
      variantAlign32: 8,
      variantPayloadOffset32: 8,
      variantFlatCount: 5,
      variantPayloadFlatTypes: ['i64','i32','i32','i32'],
    } ), 32, 8],], size32: 56, align32: 8 })],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: 0,
    stringEncoding: 'utf8',
    getMemoryFn: () => memory0,
    getReallocFn: undefined,
    importFn: _trampoline15,
  },
  ))) : _lowerImportBackwardsCompat.bind(
  null,
  {
    trampolineIdx: 15,
    componentIdx: 0,
    isAsync: false,
    isManualAsync: _trampoline15.manuallyAsync,
    paramLiftFns: [_liftFlatRecord({ fieldMetas: [['at', _liftFlatU64, 8, 8],['cause', 
    _liftFlatOption({
      caseMetas: [
      ['none', null, 0, 0, 0, [] ],
      ['some', _liftFlatRecord({ fieldMetas: [['level', 
      _liftFlatEnum({
        caseMetas: [['network', null, 1, 1, 1],['protocol', null, 1, 1, 1],['application', null, 1, 1, 1],],
        variantSize32: 1,
        variantAlign32: 1,
        variantPayloadOffset32: 1,
        variantFlatCount: 1,
      })
      , 1, 1],['verdict', 
      _liftFlatEnum({
        caseMetas: [['retry', null, 1, 1, 1],['retry-throttled', null, 1, 1, 1],['renew-credential', null, 1, 1, 1],['reprovision', null, 1, 1, 1],['fatal', null, 1, 1, 1],],
        variantSize32: 1,
        variantAlign32: 1,
        variantPayloadOffset32: 1,
        variantFlatCount: 1,
      })
      , 1, 1],['reason', 
      _liftFlatEnum({
        caseMetas: [['connection-ok', null, 1, 1, 1],['credential-renewal', null, 1, 1, 1],['expired-credential', null, 1, 1, 1],['bad-credential', null, 1, 1, 1],['device-disabled', null, 1, 1, 1],['device-not-found', null, 1, 1, 1],['retry-expired', null, 1, 1, 1],['no-network', null, 1, 1, 1],['communication-error', null, 1, 1, 1],['no-ping-response', null, 1, 1, 1],['quota-exceeded', null, 1, 1, 1],['throttled', null, 1, 1, 1],['server-busy', null, 1, 1, 1],['server-moved', null, 1, 1, 1],['provisioning', null, 1, 1, 1],['protocol-error', null, 1, 1, 1],['bad-endpoint', null, 1, 1, 1],['session-taken-over', null, 1, 1, 1],['client-close', null, 1, 1, 1],],
        variantSize32: 1,
        variantAlign32: 1,
        variantPayloadOffset32: 1,
        variantFlatCount: 1,
      })
      , 1, 1],['rule', _liftFlatStringAny, 8, 4],], size32: 12, align32: 4 }), 12, 4, 5, ['i32','i32','i32','i32','i32'] ],
      ],
      variantSize32: 16,
      variantAlign32: 4,
      variantPayloadOffset32: 4,
      variantFlatCount: 6,
      variantPayloadFlatTypes: ['i32','i32','i32','i32','i32'],
      payloadMaybeNull: false,
    })
    , 16, 4],['action', _liftFlatVariant({
      caseMetas: [['connect', _liftFlatRecord({ fieldMetas: [['link', _liftFlatU64, 8, 8],['hub', _liftFlatStringAny, 8, 4],['attempt', _liftFlatU32, 4, 4],], size32: 24, align32: 8 }), 24, 8, 4, ['i64','i32','i32','i32']],['backoff', _liftFlatRecord({ fieldMetas: [['delayMs', _liftFlatU64, 8, 8],['attempt', _liftFlatU32, 4, 4],['curve', 
      _liftFlatEnum({
        caseMetas: [['normal', null, 1, 1, 1],['throttled', null, 1, 1, 1],['server-hint', null, 1, 1, 1],],
        variantSize32: 1,
        variantAlign32: 1,
        variantPayloadOffset32: 1,
        variantFlatCount: 1,
      })
      , 1, 1],['thenProvision', _liftFlatBool, 1, 1],], size32: 16, align32: 8 }), 16, 8, 4, ['i64','i32','i32','i32']],['renew-credential', _liftFlatBool, 1, 1, 1, ['i32']],['provision', null, 0, 0, 0, []],['poll-provisioning', _liftFlatU64, 8, 8, 1, ['i64']],['give-up', 
      _liftFlatEnum({
        caseMetas: [['no-retry', null, 1, 1, 1],['max-attempts', null, 1, 1, 1],['retry-timeout', null, 1, 1, 1],['unrecoverable', null, 1, 1, 1],],
        variantSize32: 1,
        variantAlign32: 1,
        variantPayloadOffset32: 1,
        variantFlatCount: 1,
      })
      , 1, 1, 1, ['i32']],],
      variantSize32: 32,
      variantAlign32: 8,
      variantPayloadOffset32: 8,
      variantFlatCount: 5,
      variantPayloadFlatTypes: ['i64','i32','i32','i32'],
    } ), 32, 8],], size32: 56, align32: 8 })],
    resultLowerFns: [],
    hasResultPointer: false,
    funcTypeIsAsync: false,
    getCallbackFn: () => null,
    getPostReturnFn: () => null,
    isCancellable: false,
    memoryIdx: 0,
    stringEncoding: 'utf8',
    getMemoryFn: () => memory0,
    getReallocFn: undefined,
    importFn: _trampoline15,
  },
  );
  ({ exports: exports0 } = instantiateCore(module1));
  ({ exports: exports1 } = instantiateCore(module0, {
    '[export]tether:reconnect/connection@0.1.0': {
      '[resource-drop]connection': Object.assign(_guardMayLeave(0, trampoline9), { _jcoMaySuspend: false }),
      '[resource-new]connection': Object.assign(_guardMayLeave(0, trampoline0), { _jcoMaySuspend: false }),
    },
    '[export]tether:reconnect/decisions@0.1.0': {
      '[resource-drop]retry-schedule': Object.assign(_guardMayLeave(0, trampoline8), { _jcoMaySuspend: false }),
      '[resource-new]retry-schedule': Object.assign(_guardMayLeave(0, trampoline1), { _jcoMaySuspend: false }),
    },
    'tether:reconnect/credentials@0.1.0': {
      renew: Object.assign(trampoline4, { _jcoMaySuspend: false }),
    },
    'tether:reconnect/events@0.1.0': {
      decided: Object.assign(exports0['3'], { _jcoMaySuspend: false }),
      'message-outcome': Object.assign(trampoline6, { _jcoMaySuspend: false }),
      'status-changed': Object.assign(trampoline5, { _jcoMaySuspend: false }),
      'wake-at': Object.assign(trampoline7, { _jcoMaySuspend: false }),
    },
    'tether:reconnect/provisioning@0.1.0': {
      poll: Object.assign(exports0['2'], { _jcoMaySuspend: false }),
      register: Object.assign(trampoline3, { _jcoMaySuspend: false }),
    },
    'tether:reconnect/transport@0.1.0': {
      close: Object.assign(trampoline2, { _jcoMaySuspend: false }),
      open: Object.assign(exports0['0'], { _jcoMaySuspend: false }),
      send: Object.assign(exports0['1'], { _jcoMaySuspend: false }),
    },
    'wasi:clocks/monotonic-clock@0.2.12': {
      now: Object.assign(trampoline10, { _jcoMaySuspend: false }),
    },
    'wasi:random/random@0.2.12': {
      'get-random-u64': Object.assign(trampoline11, { _jcoMaySuspend: false }),
    },
  }));
  memory0 = exports1.memory;
  ({ exports: exports2 } = instantiateCore(module2, {
    '': {
      $imports: exports0.$imports,
      '0': Object.assign(trampoline12, { _jcoMaySuspend: false }),
      '1': Object.assign(trampoline13, { _jcoMaySuspend: false }),
      '2': Object.assign(trampoline14, { _jcoMaySuspend: false }),
      '3': Object.assign(trampoline15, { _jcoMaySuspend: false }),
      '4': Object.assign(exports1['tether:reconnect/connection@0.1.0#[dtor]connection'], { _jcoMaySuspend: false }),
      '5': Object.assign(exports1['tether:reconnect/decisions@0.1.0#[dtor]retry-schedule'], { _jcoMaySuspend: false }),
    },
  }));
  realloc0 = exports1.cabi_realloc;
  
  try {
    realloc0Async = WebAssembly.promising(exports1.cabi_realloc);
  } catch(err) {
    realloc0Async = exports1.cabi_realloc;
  }
  
  postReturn0 = exports1['cabi_post_tether:reconnect/connection@0.1.0#[static]connection.create'];
  
  try {
    postReturn0Async = WebAssembly.promising(exports1['cabi_post_tether:reconnect/connection@0.1.0#[static]connection.create']);
  } catch(err) {
    postReturn0Async = exports1['cabi_post_tether:reconnect/connection@0.1.0#[static]connection.create'];
  }
  
  postReturn1 = exports1['cabi_post_tether:reconnect/decisions@0.1.0#classify'];
  
  try {
    postReturn1Async = WebAssembly.promising(exports1['cabi_post_tether:reconnect/decisions@0.1.0#classify']);
  } catch(err) {
    postReturn1Async = exports1['cabi_post_tether:reconnect/decisions@0.1.0#classify'];
  }
  
  decisions010StaticRetryScheduleCreate = exports1['tether:reconnect/decisions@0.1.0#[static]retry-schedule.create'];
  decisions010MethodRetryScheduleNext = exports1['tether:reconnect/decisions@0.1.0#[method]retry-schedule.next'];
  decisions010MethodRetryScheduleAttempts = exports1['tether:reconnect/decisions@0.1.0#[method]retry-schedule.attempts'];
  decisions010MethodRetryScheduleConnected = exports1['tether:reconnect/decisions@0.1.0#[method]retry-schedule.connected'];
  decisions010MethodRetryScheduleDropped = exports1['tether:reconnect/decisions@0.1.0#[method]retry-schedule.dropped'];
  decisions010MethodRetryScheduleReset = exports1['tether:reconnect/decisions@0.1.0#[method]retry-schedule.reset'];
  decisions010Classify = exports1['tether:reconnect/decisions@0.1.0#classify'];
  decisions010TableVersion = exports1['tether:reconnect/decisions@0.1.0#table-version'];
  decisions010ValidateConfig = exports1['tether:reconnect/decisions@0.1.0#validate-config'];
  connection010StaticConnectionCreate = exports1['tether:reconnect/connection@0.1.0#[static]connection.create'];
  connection010MethodConnectionStart = exports1['tether:reconnect/connection@0.1.0#[method]connection.start'];
  connection010MethodConnectionOnOpened = exports1['tether:reconnect/connection@0.1.0#[method]connection.on-opened'];
  connection010MethodConnectionOnFailed = exports1['tether:reconnect/connection@0.1.0#[method]connection.on-failed'];
  connection010MethodConnectionOnClosed = exports1['tether:reconnect/connection@0.1.0#[method]connection.on-closed'];
  connection010MethodConnectionOnAcked = exports1['tether:reconnect/connection@0.1.0#[method]connection.on-acked'];
  connection010MethodConnectionOnProvisioned = exports1['tether:reconnect/connection@0.1.0#[method]connection.on-provisioned'];
  connection010MethodConnectionOnCredential = exports1['tether:reconnect/connection@0.1.0#[method]connection.on-credential'];
  connection010MethodConnectionOnWake = exports1['tether:reconnect/connection@0.1.0#[method]connection.on-wake'];
  connection010MethodConnectionPublish = exports1['tether:reconnect/connection@0.1.0#[method]connection.publish'];
  connection010MethodConnectionStop = exports1['tether:reconnect/connection@0.1.0#[method]connection.stop'];
  connection010MethodConnectionCurrentStatus = exports1['tether:reconnect/connection@0.1.0#[method]connection.current-status'];
  connection010MethodConnectionNextWake = exports1['tether:reconnect/connection@0.1.0#[method]connection.next-wake'];
  connection010MethodConnectionPendingMessages = exports1['tether:reconnect/connection@0.1.0#[method]connection.pending-messages'];
  const connection010 = {
    Connection: Connection,
    
  };
  const decisions010 = {
    RetrySchedule: RetrySchedule,
    classify: classify,
    tableVersion: tableVersion,
    validateConfig: validateConfig,
    
  };
  
  return { connection: connection010, decisions: decisions010, 'tether:reconnect/connection@0.1.0': connection010, 'tether:reconnect/decisions@0.1.0': decisions010,  };
})();
let promise, resolve, reject;
function normalizeInstantiationError(e) {
  // Native JSPI rejects a suspending import called from a
  // core start function before entering its JS wrapper.
  // At component instantiation time that always means the
  // implicit synchronous task attempted to block.
  if (typeof WebAssembly.SuspendError === 'function' && e instanceof WebAssembly.SuspendError) {
    return new WebAssembly.RuntimeError('cannot block a synchronous task before returning');
  }
  return e;
}
function runNext(value) {
  try {
    let done;
    do {
      ({ value, done } = gen.next(value));
    } while (!(value instanceof Promise) && !done);
    if (done) {
      if (resolve) return resolve(value);
      else return value;
    }
    if (!promise) promise = new Promise((_resolve, _reject) => (resolve = _resolve, reject= _reject));
    value.then(nextVal => done ? resolve() : runNext(nextVal), e => reject(normalizeInstantiationError(e)));
  }
  catch (e) {
    e = normalizeInstantiationError(e);
    if (reject) reject(e);
    else throw e;
  }
}
const maybeSyncReturn = runNext(null);
return promise || maybeSyncReturn;
};

export const _util = {
  
}

