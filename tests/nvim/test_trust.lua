-- What leaves the machine, in Neovim: the provider told what it may keep, a free model asked
-- about first, every cent counted, and :AmiSent showing exactly what was sent.
local h = require('helpers')
local api = vim.api

local T = {}

local function stub_select(answer)
  local seen = {}
  local real = vim.ui.select
  vim.ui.select = function(items, opts, cb)
    table.insert(seen, { items = items, prompt = opts.prompt })
    cb(answer and answer(items) or nil)
  end
  return seen, function()
    vim.ui.select = real
  end
end

T[#T + 1] = { 'openrouter_is_told_not_to_collect_the_text', function()
  h.use_fake('fake/hello')
  local doc = h.document({ 'Une note.' })
  vim.cmd('1Critique')
  h.wait_answer(doc)
  h.eq({ data_collection = 'deny' }, h.chats()[1].body.provider)
end }

T[#T + 1] = { 'a_free_model_is_asked_about_once_per_session', function()
  h.use_fake('fake/hello:free', { privacy = { data_collection = 'allow' } })
  require('ami.privacy').reset()
  local doc = h.document({ 'Une note.' })
  local seen, restore = stub_select(function()
    return nil -- cancel
  end)
  vim.cmd('1Critique')
  h.eq(1, #seen, 'asked')
  h.contains(seen[1].prompt, 'fake/hello:free is a free model: its providers may keep and train on what you send')
  vim.wait(200)
  h.eq(0, #h.chats(), 'cancelled: nothing sent')
  restore()
  seen, restore = stub_select(function(items)
    return items[1]
  end)
  vim.cmd('1Critique')
  h.wait_answer(doc)
  h.eq(1, #h.chats())
  vim.cmd('1Critique')
  h.wait(function()
    return #h.chats() == 2
  end, 5000)
  restore()
  h.eq(1, #seen, 'asked once more after the cancel, then not again this session')
  h.eq(nil, h.chats()[1].body.provider, 'data collection allowed: no routing field')
end }

T[#T + 1] = { 'the_refusal_under_the_policy_names_the_setting', function()
  h.use_fake('fake/hello:free')
  local doc = h.document({ 'Une note.' })
  vim.cmd('1Critique')
  local t = h.wait_answer(doc)
  h.eq('error', t.finished[1].status)
  h.contains(h.text(t.buf), 'No endpoints found matching your data policy')
  h.contains(h.text(t.buf), ':AmiModel')
end }

T[#T + 1] = { 'an_error_beside_the_usage_shows_what_it_cost', function()
  h.use_fake('fake/midstream-error?after=3&usage=1&code=400&message=Token%20limit%20reached')
  local doc = h.document({ 'Une note.' })
  vim.cmd('1Critique')
  local t = h.wait_answer(doc)
  local r = t.finished[1].result
  h.eq('error', r.status)
  h.eq(3, r.completion_tokens)
  h.eq(false, r.tokens_estimated)
  h.eq('reported', r.cost_source)
  local text = h.text(t.buf)
  h.contains(text, 'Token limit reached')
  h.ok(text:find(' 3 out · %$0%.') ~= nil, 'the footer shows the cost:\n' .. text)
  h.ok(require('ami').cost(doc).cost_usd > 0, 'counted in the document\'s cost')
end }

T[#T + 1] = { 'ami_sent_shows_what_left_the_machine_never_the_key', function()
  h.use_fake('fake/hello')
  local doc = h.document({ 'Une note à envoyer.' }, 'sent.md')
  vim.cmd('1Critique')
  local t = h.wait_answer(doc)
  vim.cmd('AmiSent')
  local buf = vim.fn.bufnr('ami://sent')
  h.ok(buf > 0, 'the view opened')
  local text = h.text(buf)
  h.contains(text, 'POST ' .. h.fake().base() .. '/chat/completions')
  h.contains(text, 'Authorization: <redacted>')
  h.contains(text, 'Content-Type: application/json')
  h.contains(text, '"model":\t"fake/hello"')
  h.contains(text, 'Une note à envoyer.')
  h.ok(not text:find(vim.env.OPENROUTER_API_KEY, 1, true), 'the key is never shown')
  vim.cmd('close')
  -- From the thread, the answer under the cursor.
  api.nvim_set_current_win(vim.fn.bufwinid(t.buf))
  api.nvim_win_set_cursor(0, { 7, 0 })
  vim.cmd('AmiSent')
  h.contains(h.text(vim.fn.bufnr('ami://sent')), 'Une note à envoyer.')
end }

return T
