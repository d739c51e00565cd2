-- The personal arena in Neovim: two models side by side, blind until the vote, the vote in
-- the ledger, the voted answer's notes on the document, the pair's budget, the leaderboard.
local h = require('helpers')
local api = vim.api

local T = {}

local function ledger(name)
  return h.tmp .. '/' .. name .. '.sqlite3'
end

local function sql(path, query)
  return vim.trim(vim.fn.system({ 'sqlite3', path, query }))
end

local function note_lines()
  local lines = {}
  for l in io.lines(h.root .. '/examples/sample-note.md') do
    table.insert(lines, l)
  end
  return lines
end

local function setup(name, extra)
  return h.use_fake('fake/hello', vim.tbl_deep_extend('force', {
    ledger = { path = ledger(name) },
    compare = { models = { 'fake/notes?tps=60', 'fake/essay?n=40&tps=200' } },
  }, extra or {}))
end

local function wait_pair(doc, timeout)
  local c = require('ami.compare')
  local pair
  h.wait(function()
    pair = c.current() or require('ami.compare').current()
    pair = pair or (function()
      local save = api.nvim_get_current_buf()
      api.nvim_set_current_buf(doc)
      local p = c.current()
      api.nvim_set_current_buf(save)
      return p
    end)()
    return pair and pair.sides[1].result and pair.sides[2].result
  end, timeout or 15000, 'both answers')
  return pair
end

local function pane_text(pair, i)
  return h.text(pair.sides[i].buf)
end

T[#T + 1] = { 'critique_bang_streams_two_models_side_by_side_blind', function()
  setup('pair')
  local doc = h.document(note_lines(), 'pair.md')
  vim.cmd('21,23Critique!')
  local pair = require('ami.compare').current()
  h.ok(pair, 'a pair started')
  -- Both requests go out at once.
  h.wait(function()
    return #h.chats() == 2
  end, 5000, 'both requests')
  local models = { h.chats()[1].body.model, h.chats()[2].body.model }
  table.sort(models)
  h.eq({ 'fake/essay?n=40&tps=200', 'fake/notes?tps=60' }, models)
  -- Two windows side by side, the focus in the document.
  local wa, wb = vim.fn.bufwinid(pair.sides[1].buf), vim.fn.bufwinid(pair.sides[2].buf)
  h.ok(wa > 0 and wb > 0, 'both panes are shown')
  h.eq(api.nvim_win_get_position(wa)[1], api.nvim_win_get_position(wb)[1], 'side by side')
  h.ok(api.nvim_win_get_position(wa)[2] < api.nvim_win_get_position(wb)[2], 'A on the left')
  h.eq(doc, api.nvim_get_current_buf(), 'the focus stays in the document')
  pair = wait_pair(doc)
  for i = 1, 2 do
    local text = pane_text(pair, i)
    h.contains(text, i == 1 and '## A' or '## B')
    h.contains(text, 'model and price hidden until you vote')
    h.contains(text, 'cost hidden until you vote')
    h.ok(not text:find('fake/', 1, true), 'no model name before the vote:\n' .. text)
    h.ok(text:find(' out · ', 1, true), 'tokens are shown')
  end
  -- The notes wait for the vote.
  h.eq(0, #require('ami').notes(doc))
end }

T[#T + 1] = { 'the_vote_reveals_the_models_records_it_and_places_the_winners_notes', function()
  local path = ledger('vote')
  setup('vote')
  local doc = h.document(note_lines(), 'vote.md')
  vim.cmd('21,23Critique!')
  local pair = wait_pair(doc)
  local notes_side = pair.sides[1].model:find('notes') and 1 or 2
  local other = 3 - notes_side
  api.nvim_set_current_win(vim.fn.bufwinid(pair.sides[other].buf))
  vim.cmd('AmiVote ' .. (other == 1 and 'a' or 'b'))
  h.wait(function()
    return sql(path, 'select result from votes') == (other == 1 and 'a' or 'b')
  end, 5000, 'the vote in the ledger')
  h.wait(function()
    return pane_text(pair, 1):find('## A · fake/', 1, true) ~= nil
  end, 2000, 'the names revealed')
  h.contains(pane_text(pair, notes_side), 'fake/notes')
  h.contains(pane_text(pair, other), 'fake/essay')
  h.ok(pane_text(pair, 1):find('%$0%.'), 'prices revealed')
  h.eq(0, #require('ami').notes(doc), 'the losing answer\'s notes stay off the document')
  h.ok(#h.notes_matching('vote recorded') == 1, 'told')
  -- Changed to a tie: both answers' notes go on (the essay has none).
  vim.cmd('AmiVote tie')
  h.wait(function()
    return sql(path, 'select result from votes') == 'tie'
  end, 5000, 'the changed vote')
  h.wait(function()
    return #require('ami').notes(doc) == 4
  end, 2000, 'the notes of the winner')
  h.eq('1', sql(path, 'select count(*) from votes'), 'one vote per pair')
  h.eq('critique|1', sql(path, 'select command, blind from votes'))
  h.eq('French', sql(path, 'select language from votes'))
  local row = vim.split(sql(path, 'select model_a, swapped from votes'), '|')
  h.eq(row[2] == '1' and 'fake/essay?n=40&tps=200' or 'fake/notes?tps=60', row[1],
    'the random order is recorded: side A holds the first model unless swapped')
  h.eq(pair.sides[1].model, row[1])
end }

T[#T + 1] = { 'keys_in_the_panes_vote', function()
  local path = ledger('keys')
  setup('keys')
  local doc = h.document({ 'Une phrase.' }, 'keys.md')
  vim.cmd('1Critique!')
  local pair = wait_pair(doc)
  api.nvim_set_current_win(vim.fn.bufwinid(pair.sides[2].buf))
  api.nvim_feedkeys('x', 'mx', false)
  h.wait(function()
    return sql(path, 'select result from votes') == 'bad'
  end, 5000, 'x: both bad')
end }

T[#T + 1] = { 'a_pair_over_a_cap_is_refused_whole', function()
  -- fake/priced: $3 / $15 per million: 2048 tokens out is about $0.03 an answer.
  setup('budget', { compare = { models = { 'fake/priced', 'anthropic/claude-sonnet-4' } },
    budget = { per_request_usd = 0.05 } })
  local doc = h.document({ 'Une phrase.' }, 'budget.md')
  require('ami.models').fetch_then('openrouter', function() end)
  h.wait(function()
    return require('ami.models').info('fake/priced') ~= nil
  end, 5000, 'the prices')
  vim.cmd('1Critique!')
  local pair = wait_pair(doc)
  h.eq('refused', pair.sides[1].result.status)
  h.eq('refused', pair.sides[2].result.status)
  h.contains(pair.sides[1].result.message, 'the two answers of the comparison, together')
  h.eq(0, #h.chats(), 'nothing was sent')
  -- One answer alone fits.
  vim.cmd('1Critique')
  h.wait_answer(doc)
  h.eq(1, #h.chats())
end }

T[#T + 1] = { 'not_blind_names_the_models_at_once_and_explain_bang', function()
  setup('open', { compare = { blind = false } })
  local doc = h.document({ 'Le projet Neovim.' }, 'open.md')
  api.nvim_win_set_cursor(0, { 1, 11 })
  vim.cmd('Explain!')
  local pair = wait_pair(doc)
  h.contains(pane_text(pair, 1), '## A · fake/')
  h.ok(not pane_text(pair, 1):find('hidden', 1, true))
  h.contains(h.chats()[1].body.messages[2].content, 'What does the name "Neovim" refer to')
end }

T[#T + 1] = { 'the_leaderboard_in_a_scratch_buffer', function()
  setup('board')
  local doc = h.document({ 'Une phrase.' }, 'board.md')
  for _ = 1, 2 do
    vim.cmd('1Critique!')
    local pair = wait_pair(doc)
    local a = pair.sides[1].model:find('notes') and 'a' or 'b'
    require('ami.compare').vote(pair, a) -- the notes model wins
    h.wait(function()
      return pair.result == a and pane_text(pair, 1):find('## A · fake/', 1, true)
    end, 5000, 'the vote')
  end
  vim.cmd('AmiArena')
  local buf = vim.fn.bufnr('ami://arena')
  h.wait(function()
    return h.text(buf):find('ami arena: 2 votes on 2 models', 1, true) ~= nil
  end, 5000, 'the leaderboard')
  local text = h.text(buf)
  h.contains(text, 'Not enough votes yet (fewer than 5)')
  h.ok(text:find('fake/notes%?tps=60%s+1%d%d%d'), 'the winner scores above 1000:\n' .. text)
  h.contains(text, 'Bradley–Terry')
end }

return T
