-- Helpers for the integration tests: assertions, waiting on the event loop, the fake
-- provider, captured notifications, and a reset between tests.
local M = {}

local uv = vim.uv or vim.loop

M.root = vim.env.AMI_ROOT
M.tmp = vim.env.AMI_TEST_TMP

local function show(v)
  return type(v) == 'string' and ('%q'):format(v) or vim.inspect(v)
end

function M.eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    error(('%sexpected %s, got %s'):format(what and (what .. ': ') or '', show(expected), show(actual)), 2)
  end
end

function M.ok(cond, what)
  if not cond then
    error('expected true: ' .. (what or '?'), 2)
  end
  return cond
end

function M.contains(haystack, needle, what)
  if type(haystack) ~= 'string' or not haystack:find(needle, 1, true) then
    error(('%sexpected %s to contain %s'):format(what and (what .. ': ') or '', show(haystack), show(needle)), 2)
  end
end

--- Ends the test as skipped (reported, not counted): it does not apply to this Neovim.
function M.skip(why)
  error('AMI_SKIP: ' .. why, 0)
end

--- True when this Neovim is at least major.minor.
function M.has(version)
  return vim.fn.has('nvim-' .. version) == 1
end

--- Runs the event loop until cond() is truthy; fails after timeout ms.
function M.wait(cond, timeout, what)
  local ok = vim.wait(timeout or 5000, cond, 5)
  if not ok then
    error('timed out waiting for ' .. (what or 'a condition'), 2)
  end
end

--- Pids of this Neovim's child processes whose command name is comm (e.g. 'ami').
function M.children(comm)
  local me = vim.fn.getpid()
  local found = {}
  for _, dir in ipairs(vim.fn.glob('/proc/[0-9]*', false, true)) do
    local f = io.open(dir .. '/stat')
    if f then
      local stat = f:read('*l') or ''
      f:close()
      local pid, name, ppid = stat:match('^(%d+) %((.-)%) %S+ (%d+)')
      if pid and tonumber(ppid) == me and (not comm or name == comm) then
        table.insert(found, tonumber(pid))
      end
    end
  end
  return found
end

-- Captured vim.notify calls: { msg, level }.
M.notes = {}
local real_notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(M.notes, { msg = msg, level = level })
  if vim.env.AMI_TEST_VERBOSE then
    real_notify(msg, level, opts)
  end
end

function M.notes_matching(pat)
  local res = {}
  for _, n in ipairs(M.notes) do
    if tostring(n.msg):find(pat, 1, true) then
      table.insert(res, n)
    end
  end
  return res
end

-- The fake provider (tests/fake_provider.py), started on first use.
local fake
function M.fake()
  if fake then
    return fake
  end
  local log = M.tmp .. '/fake-requests.jsonl'
  local port
  local job = vim.fn.jobstart({ 'python3', M.root .. '/tests/fake_provider.py', '--port', '0', '--log', log }, {
    on_stdout = function(_, data)
      for _, l in ipairs(data) do
        local p = l:match('^PORT (%d+)')
        if p then
          port = tonumber(p)
        end
      end
    end,
  })
  M.wait(function()
    return port ~= nil
  end, 10000, 'the fake provider to start')
  fake = {
    job = job,
    port = port,
    base = function(flavour)
      return ('http://127.0.0.1:%d/%s/v1'):format(port, flavour or 'openrouter')
    end,
    requests = function()
      local res = {}
      local f = io.open(log)
      if not f then
        return res
      end
      for line in f:lines() do
        -- The last line may be half written (the fake provider is writing it now).
        local ok, v = pcall(vim.fn.json_decode, line)
        if line ~= '' and ok then
          table.insert(res, v)
        end
      end
      f:close()
      return res
    end,
  }
  return fake
end

--- Lines of a buffer as one string.
function M.text(buf)
  return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
end

--- Between tests: stop the engine, close extra windows and buffers, forget notifications.
function M.reset()
  local host = package.loaded['ami.host']
  if host then
    host.stop()
  end
  vim.cmd('silent! only!')
  vim.cmd('enew!')
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if b ~= vim.api.nvim_get_current_buf() then
      pcall(vim.api.nvim_buf_delete, b, { force = true })
    end
  end
  M.notes = {}
end

function M.shutdown()
  if fake then
    vim.fn.jobstop(fake.job)
  end
end


--- Settings that point ami at the fake provider (flavour openrouter unless given).
function M.use_fake(model, extra, flavour)
  local f = M.fake()
  vim.env.OPENROUTER_API_KEY = vim.env.OPENROUTER_API_KEY or 'sk-or-test-key-0123456789'
  local opts = vim.tbl_deep_extend('force', {
    model = model or 'fake/hello',
    providers = { [flavour or 'openrouter'] = { base_url = f.base(flavour or 'openrouter') } },
  }, extra or {})
  if flavour then
    opts.provider = flavour
  end
  assert(require('ami').setup(opts))
  return f
end

--- Waits for the answer being streamed in doc buffer buf's thread to end; returns the thread.
function M.wait_answer(buf, timeout)
  local tm = require('ami.thread')
  local t
  M.wait(function()
    t = tm.get(buf, false)
    return t and #tm.running_ids(t) == 0 and t.finished and #t.finished > 0
  end, timeout or 10000, 'the answer to end')
  return t
end

--- Requests the fake provider received for chat (not /models or /key).
function M.chats()
  local res = {}
  for _, r in ipairs(M.fake().requests()) do
    if r.method == 'POST' then
      table.insert(res, r)
    end
  end
  return res
end

--- A document buffer in the current window, holding lines, named name (a real file when
--- given, so the ledger can attribute costs).
function M.document(lines, name)
  vim.cmd('enew!')
  local buf = vim.api.nvim_get_current_buf()
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  if name then
    local path = M.tmp .. '/' .. name
    vim.api.nvim_buf_set_name(buf, path)
    vim.cmd('silent write!')
  end
  return buf
end

--- A child Neovim (embedded, headless) with this checkout, driven over RPC, so tests can
--- send keys that it processes like typed input while ami streams.
function M.child()
  local chan = vim.fn.jobstart({ vim.v.progpath, '--embed', '--headless', '-n', '-i', 'NONE', '-u',
    M.root .. '/tests/nvim/init.lua' }, { rpc = true })
  assert(chan > 0, 'could not start a child Neovim')
  local c = { chan = chan }
  function c.lua(code, ...)
    return vim.rpcrequest(chan, 'nvim_exec_lua', code, { ... })
  end
  function c.input(keys)
    return vim.rpcrequest(chan, 'nvim_input', keys)
  end
  function c.stop()
    pcall(vim.fn.jobstop, chan)
  end
  table.insert(M.children_started, c)
  return c
end
M.children_started = {}

local base_reset = M.reset
function M.reset()
  -- Each test sees only its own requests.
  if fake then
    local f = io.open(M.tmp .. '/fake-requests.jsonl', 'w')
    if f then
      f:close()
    end
  end
  for _, c in ipairs(M.children_started) do
    c.stop()
  end
  M.children_started = {}
  -- What :AmiModel remembered must not leak into the next test.
  if package.loaded['ami.state'] then
    os.remove(require('ami.state').path())
    require('ami.state').reset()
  end
  base_reset()
end

return M
