-- ami in Neovim against a real llama.cpp server (tests/llama/prepare.sh sets AMI_LLAMA_*):
-- :Critique streams the server's answer into the sidebar with the server's token counts,
-- and :AmiStop closes the connection so the server's slot goes idle.
local h = require('helpers')

local T = {}

local server -- { job, port, log }

local function start_server()
  if server then
    return server
  end
  if not vim.env.AMI_LLAMA_SERVER or vim.fn.executable(vim.env.AMI_LLAMA_SERVER) ~= 1 then
    h.skip('AMI_LLAMA_SERVER is not set (tests/llama/prepare.sh prepares it)')
  end
  -- A free port: bind 0 with luv, read it back, release it for the server.
  local uv = vim.uv or vim.loop
  local probe = uv.new_tcp()
  probe:bind('127.0.0.1', 0)
  local port = probe:getsockname().port
  probe:close()
  local log = h.tmp .. '/llama-server.log'
  local job = vim.fn.jobstart({ vim.env.AMI_LLAMA_SERVER, '-m', vim.env.AMI_LLAMA_MODEL, '--host',
    '127.0.0.1', '--port', tostring(port), '-np', '2', '-c', '8192', '-t', '1', '--no-webui',
    '--no-warmup', '--slots', '--log-file', log }, {
    env = { GGML_BACKEND_PATH = vim.env.AMI_LLAMA_BACKEND },
  })
  assert(job > 0, 'could not start llama-server')
  server = { job = job, port = port, log = log }
  h.wait(function()
    local out = vim.fn.system({ 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}',
      ('http://127.0.0.1:%d/health'):format(port) })
    return vim.trim(out) == '200'
  end, 30000, 'llama-server to be healthy')
  return server
end

local function busy_slots(s)
  local out = vim.fn.system({ 'curl', '-s', ('http://127.0.0.1:%d/slots'):format(s.port) })
  local ok, slots = pcall(vim.fn.json_decode, out)
  if not ok or type(slots) ~= 'table' then
    return -1
  end
  local n = 0
  for _, sl in ipairs(slots) do
    if sl.is_processing then
      n = n + 1
    end
  end
  return n
end

local function use_server(s, extra)
  assert(require('ami').setup(vim.tbl_deep_extend('force', {
    provider = 'openai-compatible',
    model = 'tiny',
    temperature = 0,
    max_tokens = 48,
    providers = { ['openai-compatible'] = { base_url = ('http://127.0.0.1:%d/v1'):format(s.port) } },
  }, extra or {})))
end

T[#T + 1] = { 'critique_streams_the_real_servers_answer_with_its_token_counts', function()
  local s = start_server()
  use_server(s)
  local doc = h.document({ '# Une note', '', 'Ça finit par faire une phrase longue.', '' }, 'llama.md')
  vim.cmd('3Critique')
  local t = h.wait_answer(doc, 30000)
  local a = t.finished[1]
  h.eq('done', a.status)
  local text = table.concat(a.chunks)
  h.ok(#text > 0, 'some text arrived')
  h.contains(h.text(t.buf), text:sub(1, 40), 'the sidebar shows the answer')
  local r = a.result
  h.ok(r.prompt_tokens > 0 and r.completion_tokens > 0 and r.completion_tokens <= 48,
    'the server counted the tokens: ' .. vim.inspect(r))
  h.eq(false, r.tokens_estimated, 'counts are the server\'s, not estimated')
  h.eq(r.completion_tokens == 48 and 'length' or 'stop', r.finish_reason)
  h.eq(vim.api.nvim_get_current_buf(), doc, 'the document keeps the focus')
end }

T[#T + 1] = { 'stop_closes_the_connection_and_the_slot_goes_idle', function()
  local s = start_server()
  use_server(s, { max_tokens = 3500 })
  local doc = h.document({ 'Une phrase à relire.' }, 'llama-stop.md')
  vim.cmd('Critique')
  local t
  h.wait(function()
    t = require('ami.thread').get(doc, false)
    local ids = t and require('ami.thread').running_ids(t) or {}
    return #ids > 0 and busy_slots(s) > 0
  end, 20000, 'the server to be generating')
  vim.cmd('AmiStop')
  h.wait_answer(doc, 10000)
  h.eq('cancelled', t.finished[1].status)
  h.wait(function()
    return busy_slots(s) == 0
  end, 5000, 'the slot to go idle')
end }

local base_shutdown = h.shutdown
function h.shutdown()
  if server then
    vim.fn.jobstop(server.job)
  end
  base_shutdown()
end

return T
