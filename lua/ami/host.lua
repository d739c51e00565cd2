-- ami.host: the engine process (`build/ami rpc`), started on first use.
--
-- Every call into the host answers at once; results arrive later as batches of events that
-- the host delivers with an nvim_exec_lua notification calling M._dispatch.  If the host
-- dies, the user is told once, listeners get a 'host_exit' event (answers in progress are
-- marked interrupted), and the next call starts a new host.
local M = {}

local uv = vim.uv or vim.loop

local state = {
  chan = nil, -- channel id of the running host
  pid = nil,
  started_at = nil,
  stderr = {}, -- the host's last stderr lines (a ring of 200)
  quitting = false,
  generation = 0,
}
local listeners = {}

local function plugin_root()
  local src = debug.getinfo(1, 'S').source:sub(2)
  return vim.fn.fnamemodify(src, ':p:h:h:h')
end

--- Path of the engine binary: $AMI_BIN, else build/ami next to this plugin's lua/ dir.
function M.binary()
  if vim.env.AMI_BIN and vim.env.AMI_BIN ~= '' then
    return vim.env.AMI_BIN
  end
  return plugin_root() .. '/build/ami'
end

function M.root()
  return plugin_root()
end

local function push_stderr(lines)
  for _, l in ipairs(lines) do
    if l ~= '' then
      table.insert(state.stderr, l)
      if #state.stderr > 200 then
        table.remove(state.stderr, 1)
      end
    end
  end
end

--- The host's recent stderr lines (diagnostics; never contains a key).
function M.log()
  return vim.deepcopy(state.stderr)
end

--- Registers fn(event) for events of the given type ('delta', 'done', 'host_exit', ...).
function M.on(kind, fn)
  listeners[kind] = listeners[kind] or {}
  table.insert(listeners[kind], fn)
end

local function emit(ev)
  local fns = listeners[ev.type]
  if not fns then
    return
  end
  for _, fn in ipairs(fns) do
    local ok, err = pcall(fn, ev)
    if not ok then
      vim.notify('ami: internal error handling a ' .. ev.type .. ' event: ' .. tostring(err),
        vim.log.levels.ERROR)
    end
  end
end

-- Events that arrive while a call into the host is waiting for its answer are held and
-- handled once it has returned.  Neovim handles the host's notifications inside
-- vim.rpcrequest's wait; a handler that called the host again from there would nest a second
-- request whose answer Neovim expects first, while the host may already have answered the
-- outer one ("returned a response with an unknown request id").  Holding them also means an
-- answer's first events never arrive before the call that started it has returned its id.
local depth = 0 -- calls into the host in progress
local held = {} -- events waiting for depth 0, in order: held[held_next .. held_last]
local held_next, held_last = 1, 0
local flush_scheduled = false

-- At most TICK_BYTES of answer text, or TICK_LINES lines of it, are put into buffers per turn
-- of Neovim's loop; a bigger delta (a flood: the host's frames grow to 100 ms, tens of KiB) is
-- cut after a line or at a UTF-8 boundary, and the rest, with every event after it, waits
-- PIECE_MS: keys, redraws and other RPC clients get their turn in between, so no single turn
-- blocks the editor for long.  A real model's frame (a few hundred bytes) is never cut.
-- Measured (doc/BENCHMARKS.md, "Pieces of a flood"): a turn costs about the same whether it
-- puts in 120 lines or 400 (the redraw after it, bounded by the window, dominates; 0.5-2 ms),
-- and on a line without a break the redraw costs per byte of the whole line, whatever the
-- piece: smaller pieces only add turns (4 KiB pieces cost 0.7.2 twice the CPU of these).
local TICK_BYTES = 32768
local TICK_LINES = 400
local PIECE_MS = 8
M.TICK_BYTES, M.TICK_LINES = TICK_BYTES, TICK_LINES -- (read by the tests)

-- The end (1-based, inclusive) of the part of text from byte `from` that fits in a turn with
-- `bytes` and `lines` left: after its lines-th newline, else at most `bytes` bytes, not cutting
-- a UTF-8 sequence (never less than one byte).  Also returns the newlines in that part.
local function fit(text, from, bytes, lines)
  local stop = math.min(#text, from + bytes - 1)
  local k, i = 0, from
  while true do
    local j = text:find('\n', i, true)
    if not j or j > stop then
      break
    end
    k = k + 1
    if k >= lines then
      return j, k
    end
    i = j + 1
  end
  if stop < #text then
    while stop > from do
      local b = text:byte(stop + 1)
      if b < 0x80 or b >= 0xC0 then
        break
      end
      stop = stop - 1
    end
  end
  return stop, k
end

local flush_held

local function schedule_flush(later)
  if not flush_scheduled then
    flush_scheduled = true
    if later then
      vim.defer_fn(flush_held, PIECE_MS)
    else
      vim.schedule(flush_held)
    end
  end
end

-- Emits the held events in order, within the turn's budget.  A delta cut short stays held with
-- `from`, the first byte not yet emitted (its text is never copied but piece by piece).
flush_held = function()
  flush_scheduled = false
  local bytes, lines = TICK_BYTES, TICK_LINES
  while held_next <= held_last do
    if depth > 0 then
      return -- a handler is calling the host: the rest waits for it (see M.request)
    end
    local ev = held[held_next]
    local text = ev.type == 'delta' and ev.text
    if text then
      local from = ev.from or 1
      if bytes <= 0 or lines <= 0 then
        return schedule_flush(true)
      end
      local stop, k = fit(text, from, bytes, lines)
      if stop < #text then
        if bytes < TICK_BYTES then
          return schedule_flush(true) -- text went in this turn: the big one gets a turn of its own
        end
        ev.from = stop + 1
        emit({ type = 'delta', id = ev.id, text = text:sub(from, stop) })
        return schedule_flush(true)
      end
      bytes, lines = bytes - (stop - from + 1), lines - k
      if from > 1 then
        ev = { type = 'delta', id = ev.id, text = text:sub(from) }
      end
    end
    held[held_next] = nil
    held_next = held_next + 1
    emit(ev)
  end
  held, held_next, held_last = {}, 1, 0
end

--- Called by the host (nvim_exec_lua) with a list of events.
function M._dispatch(events)
  local queued = held_next <= held_last
  for i = 1, #events do
    held_last = held_last + 1
    held[held_last] = events[i]
  end
  if depth > 0 or queued then
    return schedule_flush()
  end
  flush_held()
end

local function on_exit(gen, code, signal)
  if gen ~= state.generation then
    return
  end
  state.chan, state.pid = nil, nil
  if state.quitting then
    return
  end
  local how = signal and signal > 0 and ('killed by signal ' .. signal) or ('exit status ' .. code)
  local last = state.stderr[#state.stderr]
  local msg = ('ami: the engine process stopped (%s)%s. Answers in progress were interrupted; the next ami command starts it again.')
    :format(how, last and (': ' .. last) or '')
  vim.schedule(function()
    vim.notify(msg, vim.log.levels.ERROR)
  end)
  M._dispatch({ { type = 'host_exit', code = code, signal = signal, message = msg } })
end

local function start()
  local bin = M.binary()
  if vim.fn.executable(bin) ~= 1 then
    return nil, ('ami: the engine %s is missing or not executable; run `make` in %s'):format(bin, plugin_root())
  end
  state.generation = state.generation + 1
  local gen = state.generation
  local job = vim.fn.jobstart({ bin, 'rpc' }, {
    rpc = true,
    on_stderr = function(_, data)
      push_stderr(data)
    end,
    on_exit = function(_, code, _)
      -- jobstart reports a signal as 128 + signum.
      local sig = code > 128 and code - 128 or nil
      on_exit(gen, code, sig)
    end,
  })
  if job <= 0 then
    return nil, ('ami: could not start %s'):format(bin)
  end
  state.chan = job
  state.pid = vim.fn.jobpid(job)
  state.started_at = uv.hrtime()
  depth = depth + 1
  local ok, err = pcall(vim.rpcrequest, job, 'configure', require('ami.config').user())
  depth = depth - 1
  if not ok then
    local msg = tostring(err):gsub('^.-: ', '', 1)
    vim.notify('ami: ' .. msg, vim.log.levels.ERROR)
    -- The host stays up: defaults and the config file apply where setup() was refused.
  end
  return job
end

--- Returns the channel of a running host, starting one if needed; or nil and an error.
function M.ensure()
  if state.chan then
    return state.chan
  end
  return start()
end

function M.running()
  return state.chan ~= nil
end

function M.pid()
  return state.pid
end

--- Calls a host method (which answers at once).  Returns the result, or nil and an error.
function M.request(method, ...)
  local chan, err = M.ensure()
  if not chan then
    return nil, err
  end
  depth = depth + 1
  local ok, res = pcall(vim.rpcrequest, chan, method, ...)
  depth = depth - 1
  if depth == 0 and held_next <= held_last then
    schedule_flush()
  end
  if not ok then
    return nil, 'ami: ' .. tostring(res):gsub('^Vim:', '')
  end
  return res
end

--- Sends the current options to a running host (after setup() or :AmiModel).
function M.reconfigure()
  if not state.chan then
    return true
  end
  return M.request('configure', require('ami.config').user())
end

--- Stops the host (tests; :AmiRestart).
function M.stop()
  if state.chan then
    local chan = state.chan
    state.quitting = true
    vim.fn.jobstop(chan)
    vim.fn.jobwait({ chan }, 2000)
    state.quitting = false
    state.chan, state.pid = nil, nil
  end
end

vim.api.nvim_create_autocmd('VimLeavePre', {
  group = vim.api.nvim_create_augroup('ami.host', { clear = true }),
  callback = function()
    state.quitting = true
  end,
})

return M
