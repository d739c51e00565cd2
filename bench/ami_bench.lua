-- The benchmark's side inside Neovim, driven over --listen by bench/run.py.
--
-- Each measured answer ends with a notification to the driver, "bench_done", carrying when
-- the first text was in the buffer (CLOCK_MONOTONIC ns, uv.hrtime) and how much arrived.
local M = {}

local api = vim.api
local uv = vim.uv or vim.loop

local driver -- the driver's channel id
local doc -- the document buffer
local run -- the answer being measured: { first_ns, bytes, id }

local function done(extra)
  local res = { first_ns = run and run.first_ns or -1, bytes = run and run.bytes or 0,
    end_ns = uv.hrtime() }
  for k, v in pairs(extra or {}) do
    res[k] = v
  end
  run = nil
  vim.rpcnotify(driver, 'bench_done', res)
end

local function text_arrived(n)
  if run then
    run.bytes = run.bytes + n
    run.first_ns = run.first_ns or uv.hrtime()
  end
end

--- A document on the left: a short Markdown note, written to a file so that it is a real
--- document.  chan: the driver's channel.
function M.init(chan, path)
  driver = chan
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
  api.nvim_buf_set_lines(0, 0, -1, false, {
    '# Notes on streaming', '', 'A first paragraph that the question is about.',
    'It has two lines.', '', '- a list', '- of items', '' })
  vim.cmd('silent write')
  doc = api.nvim_get_current_buf()
  return vim.fn.getpid()
end

-- ---- ami ------------------------------------------------------------------------------------

local ami_ready = false

--- Points ami at the fake provider.
function M.ami_setup(base)
  assert(require('ami').setup({ model = 'fake/hello',
    providers = { openrouter = { base_url = base } } }))
  local thread = require('ami.thread')
  thread.register() -- ami's handlers first: ours see the text once it is in the buffer
  if not ami_ready then
    ami_ready = true
    local host = require('ami.host')
    host.on('delta', function(ev)
      if run and ev.id == run.id then
        text_arrived(#ev.text)
      end
    end)
    host.on('done', function(ev)
      if run and ev.id == run.id then
        done({ status = ev.status })
      end
    end)
    host.on('start', function(ev)
      -- A question asked while its thread was being restored from the ledger was queued: it
      -- gets its id when it starts.
      if run and not run.id and run.thread then
        for _, id in ipairs(require('ami.thread').running_ids(run.thread)) do
          if id == ev.id then
            run.id = id
          end
        end
      end
    end)
  end
  return require('ami.host').request('ping').pid
end

--- Asks ami a question about the document; the answer streams into the sidebar.
function M.ami_ask(model, d)
  local thread = require('ami.thread')
  api.nvim_set_current_buf(d or doc)
  local t = thread.get(d or doc, true)
  local turn = { kind = 'ask', question = 'Tell me about this note.', followup = #t.turns > 0 }
  if #t.turns == 0 then
    turn.document = table.concat(api.nvim_buf_get_lines(d or doc, 0, -1, false), '\n') .. '\n'
    turn.path = t.name
  end
  run = { bytes = 0, thread = t }
  local a = thread.ask(t, turn, { model = model })
  run.id = a and a.id
  if not a or a.pending then
    done({ status = 'error' })
  end
end

--- n answers at once, each in the thread of its own document (ami has one thread per
--- document); "bench_done" when the last ends.
function M.ami_ask_many(model, n)
  local thread = require('ami.thread')
  local host = require('ami.host')
  local left, ids = n, {}
  local docs = {}
  for i = 1, n do
    local b = i == 1 and doc or api.nvim_create_buf(true, false)
    if i > 1 then
      api.nvim_buf_set_lines(b, 0, -1, false, { 'Document ' .. i, '', 'Some text.' })
    end
    docs[i] = b
  end
  local first_ns
  local threads = {}
  host.on('start', function(ev)
    -- Questions queued while their thread was restored from the ledger start later.
    for t in pairs(threads) do
      for _, id in ipairs(thread.running_ids(t)) do
        if id == ev.id and not ids[id] then
          ids[id] = true
          threads[t] = nil
        end
      end
    end
  end)
  host.on('delta', function(ev)
    if ids[ev.id] then
      first_ns = first_ns or uv.hrtime()
    end
  end)
  host.on('done', function(ev)
    if ids[ev.id] then
      ids[ev.id] = nil
      left = left - 1
      if left == 0 then
        vim.rpcnotify(driver, 'bench_done', { first_ns = first_ns or -1, end_ns = uv.hrtime() })
      end
    end
  end)
  local cur = api.nvim_get_current_win()
  for i = 1, n do
    api.nvim_win_set_buf(cur, docs[i])
    local t = thread.get(docs[i], true)
    local a = thread.ask(t, { kind = 'ask', question = 'Tell me about this note.',
      document = 'Document ' .. i .. '\n', path = t.name }, { model = model })
    if a and a.id then
      ids[a.id] = true
    elseif a and a.queued then
      threads[t] = true
    else
      left = left - 1
    end
  end
  api.nvim_win_set_buf(cur, doc)
end

--- Milliseconds from (re)starting the engine to its first answer (a ping).
function M.host_spawn_ms()
  local host = require('ami.host')
  host.stop()
  local t0 = uv.hrtime()
  local res = host.request('ping')
  local ms = (uv.hrtime() - t0) / 1e6
  return { ms = ms, pid = res and res.pid }
end

-- ---- the yardstick -----------------------------------------------------------------------

local ys = {}

function M.yardstick_setup(base, key)
  local y = require('yardstick')
  api.nvim_set_current_buf(doc)
  ys.buf, ys.win = y.open()
  ys.base, ys.key = base, key
end

function M.yardstick_ask(model)
  run = { bytes = 0 }
  require('yardstick').ask(ys.buf, ys.win, {
    url = ys.base, key = ys.key, model = model, question = 'Tell me about this note.',
    on_delta = function(text)
      text_arrived(#text)
    end,
    on_done = function()
      done({ status = 'done' })
    end,
  })
end

-- ---- the floor: ready-made text appended at a fixed cadence -----------------------------

--- Appends text at the end of a visible markdown buffer (the yardstick's window) in pieces
--- of `piece` bytes, one every period_ms, following the end; what any display of streamed
--- text must at least pay.
--- plain: the buffer without highlighting (no syntax, no tree-sitter), as ami's thread is
--- before ami highlights it; otherwise as Neovim highlights a markdown buffer by default.
function M.floor(text, piece, period_ms, plain)
  local buf, win = ys.buf, ys.win
  vim.bo[buf].undolevels = -1
  if plain then
    if vim.treesitter and vim.treesitter.highlighter and vim.treesitter.highlighter.active[buf] then
      vim.treesitter.stop(buf)
    end
    vim.bo[buf].syntax = 'OFF'
  end
  run = { bytes = 0 }
  local pos = 1
  local timer = uv.new_timer()
  timer:start(0, period_ms, vim.schedule_wrap(function()
    if pos > #text then
      if not timer:is_closing() then
        timer:stop()
        timer:close()
        done({ status = 'done' })
      end
      return
    end
    local stop = pos + piece
    while stop <= #text and text:byte(stop) >= 0x80 and text:byte(stop) < 0xC0 do
      stop = stop + 1 -- never cut a character
    end
    local chunk = text:sub(pos, stop - 1)
    pos = stop
    local last = api.nvim_buf_line_count(buf) - 1
    local col = #api.nvim_buf_get_lines(buf, last, last + 1, false)[1]
    api.nvim_buf_set_text(buf, last, col, last, col, vim.split(chunk, '\n', { plain = true }))
    api.nvim_win_set_cursor(win, { api.nvim_buf_line_count(buf), 0 })
    text_arrived(#chunk)
  end))
end

return M
