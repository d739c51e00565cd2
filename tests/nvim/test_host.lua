-- The engine process: lazy start, ping, unknown methods, restart after a crash, health.
local h = require('helpers')
local uv = vim.uv or vim.loop

local T = {}

T[#T + 1] = { 'plugin_loads_lazily', function()
  h.eq(2, vim.fn.exists(':AmiStatus'), ':AmiStatus defined')
  h.eq(nil, package.loaded['ami.host'], 'ami.host not loaded at start-up')
  h.eq(nil, package.loaded['ami'], 'ami not loaded at start-up')
  h.eq({}, h.children('ami'), 'no engine process at start-up')
end }

T[#T + 1] = { 'host_spawns_on_first_command', function()
  vim.cmd('AmiStatus')
  local host = require('ami.host')
  h.ok(host.running(), 'engine running after :AmiStatus')
  h.eq({ host.pid() }, h.children('ami'), 'exactly one engine process, a child of Neovim')
  h.contains(h.notes[#h.notes].msg, 'provider openrouter, model anthropic/claude-sonnet-4')
end }

T[#T + 1] = { 'ping_round_trip', function()
  local host = require('ami.host')
  local pong = assert(host.request('ping'))
  local version = vim.trim(vim.fn.system({ host.binary(), '--version' }))
  h.eq(version, 'ami ' .. pong.version)
  h.eq(host.pid(), pong.pid)
end }

T[#T + 1] = { 'unknown_method_is_an_error_and_the_host_lives_on', function()
  local host = require('ami.host')
  local res, err = host.request('no_such_method', 1, 2)
  h.eq(nil, res)
  h.contains(err, 'unknown method: no_such_method')
  h.ok(host.request('ping'), 'the engine still answers')
end }

T[#T + 1] = { 'host_restarts_after_being_killed_and_says_so_once', function()
  local host = require('ami.host')
  local exits = 0
  host.on('host_exit', function()
    exits = exits + 1
  end)
  local first = assert(host.request('ping')).pid
  uv.kill(first, 9)
  h.wait(function()
    return not host.running()
  end, 5000, 'the engine exit to be noticed')
  h.wait(function()
    return #h.notes_matching('engine process stopped') > 0
  end, 2000, 'the user to be told')
  h.eq(1, exits, 'one host_exit event')
  local notes = h.notes_matching('engine process stopped')
  h.eq(1, #notes, 'told once')
  h.contains(notes[1].msg, 'killed by signal 9')
  h.contains(notes[1].msg, 'the next ami command starts it again')
  local second = assert(host.request('ping')).pid
  h.ok(second ~= first, 'a new engine process')
  h.eq({ second }, h.children('ami'), 'only the new engine runs')
end }

T[#T + 1] = { 'host_exits_when_neovim_closes_the_channel', function()
  local host = require('ami.host')
  local pid = assert(host.request('ping')).pid
  host.stop()
  h.wait(function()
    return vim.fn.isdirectory('/proc/' .. pid) == 0
  end, 2000, 'the engine to exit')
end }

T[#T + 1] = { 'checkhealth_reports_a_healthy_host', function()
  vim.env.OPENROUTER_API_KEY = 'sk-or-test-0123456789'
  vim.cmd('checkhealth ami')
  local text = h.text(0)
  vim.env.OPENROUTER_API_KEY = nil
  h.contains(text, 'Neovim ')
  h.contains(text, 'engine ami ')
  h.contains(text, 'engine running (pid ')
  h.contains(text, 'usage ledger ')
  h.contains(text, 'API key for openrouter found in OPENROUTER_API_KEY')
  h.ok(not text:find('ERROR', 1, true), 'no error in:\n' .. text)
  h.ok(not text:find('sk-or-test-0123456789', 1, true), 'the key is never shown')
end }

T[#T + 1] = { 'checkhealth_reports_a_missing_binary', function()
  local saved = vim.env.AMI_BIN
  vim.env.AMI_BIN = '/nonexistent/ami'
  vim.cmd('checkhealth ami')
  local text = h.text(0)
  vim.env.AMI_BIN = saved
  h.contains(text, 'engine not found at /nonexistent/ami')
end }

-- Everything ami does on 0.12 uses no deprecated function: :checkhealth vim.deprecated lists
-- every vim.deprecate() call made so far, with its caller.
T[#T + 1] = { 'nothing_ami_calls_is_deprecated', function()
  if #vim.api.nvim_get_runtime_file('lua/vim/deprecated/health.lua', false) == 0 then
    h.skip('this Neovim has no vim.deprecated health check (0.11 and newer do)')
  end
  h.use_fake('fake/hello')
  local doc = h.document({ 'Une note.', '', 'Un paragraphe.' }, 'deprecated.md')
  vim.cmd('Critique')
  h.wait_answer(doc)
  vim.cmd('AmiUsage')
  vim.cmd('AmiStatus')
  vim.cmd('checkhealth ami')
  vim.cmd('checkhealth vim.deprecated')
  local text = h.text(0)
  h.contains(text, 'vim.deprecated')
  h.ok(not text:find('/lua/ami/', 1, true) and not text:find('plugin/ami.lua', 1, true),
    'no deprecated call from ami:\n' .. text)
end }

return T
