-- ami.compare: the personal arena in Neovim.  The same question to two models at once
-- (:Critique!, :Explain!, :AmiCompare), both answers streaming side by side in two panes of
-- the sidebar labelled A and B, a vote (:AmiVote a|b|tie|bad, or a b t x in the panes), and
-- :AmiArena, the leaderboard of the writer's own votes.
--
-- Blind by default (compare.blind): the engine puts the models on A and B in a random order,
-- and the panes show tokens and time but neither the models' names nor the prices until the
-- vote.  Each answer's margin notes are kept with it: only the voted answer's notes go on the
-- document (both for a tie, none for "both bad"), so the writer is not flooded.
local M = {}

local api = vim.api
local sidebar = require('ami.sidebar')
local cost = require('ami.cost')

local pairs_by_doc = {} -- document buffer -> the latest pair
local by_request = {} -- request id -> { pair, side }
local pending_votes = {} -- token -> pair
local pending_reports = {} -- token -> buffer

local function notify(msg, level)
  vim.notify('ami: ' .. msg, level or vim.log.levels.INFO)
end

local function label(pair, i)
  local side = pair.sides[i]
  if pair.blind and not pair.result then
    return ('## %s'):format(i == 1 and 'A' or 'B')
  end
  return ('## %s · %s'):format(i == 1 and 'A' or 'B', side.model_answered or side.model)
end

local function subtitle(pair, i)
  if pair.blind and not pair.result then
    return ('*model and price hidden until you vote · %s*'):format(pair.when)
  end
  return ('*%s · %s*'):format(pair.sides[i].model, pair.when)
end

local function footer(pair, i)
  local s = pair.sides[i]
  local ev = s.result
  if not ev then
    return nil
  end
  local parts = {}
  if ev.prompt_tokens and ev.prompt_tokens >= 0 then
    local est = ev.tokens_estimated and '~' or ''
    table.insert(parts, ('%s%s in · %s%s out'):format(est, cost.format_int(ev.prompt_tokens), est,
      cost.format_int(ev.completion_tokens)))
  end
  if ev.duration_ms and ev.duration_ms >= 0 then
    table.insert(parts, ('%.1f s'):format(ev.duration_ms / 1000))
  end
  if pair.blind and not pair.result then
    table.insert(parts, 'cost hidden until you vote')
  else
    table.insert(parts, cost.format_usd(ev.cost_usd, ev.cost_source))
  end
  if ev.status ~= 'done' then
    table.insert(parts, ev.status)
  end
  return '*— ' .. table.concat(parts, ' · ') .. '*'
end

-- Two side-by-side windows on the panes' buffers, where the sidebar is; the focus stays.  An
-- earlier pair's second pane is closed (its buffers stay, unlisted).
local function open_panes(pair)
  local t = pair.thread
  local old = pairs_by_doc[t.doc]
  if old and old ~= pair and old.right and api.nvim_win_is_valid(old.right) and #api.nvim_list_wins() > 2 then
    api.nvim_win_close(old.right, true)
  end
  local win = old and old.left and api.nvim_win_is_valid(old.left) and old.left or sidebar.show(t.buf)
  local cur = api.nvim_get_current_win()
  api.nvim_win_set_buf(win, pair.sides[1].buf)
  local right
  api.nvim_win_call(win, function()
    vim.cmd('noautocmd vertical rightbelow split')
    right = api.nvim_get_current_win()
    api.nvim_win_set_buf(right, pair.sides[2].buf)
  end)
  if api.nvim_win_is_valid(cur) then
    api.nvim_set_current_win(cur)
  end
  for _, w in ipairs({ win, right }) do
    api.nvim_win_set_cursor(w, { api.nvim_buf_line_count(api.nvim_win_get_buf(w)), 0 })
  end
  pair.left, pair.right = win, right
end

local function keys_of(name)
  local k = require('ami.config').get().keys[name]
  if k == false or k == nil then
    return {}
  end
  return type(k) == 'string' and { k } or k
end

local function map_votes(buf, pair)
  for name, result in pairs({ vote_a = 'a', vote_b = 'b', vote_tie = 'tie', vote_bad = 'bad' }) do
    for _, lhs in ipairs(keys_of(name)) do
      vim.keymap.set('n', lhs, function()
        M.vote(pair, result)
      end, { buffer = buf, nowait = true, silent = true, desc = 'ami: vote ' .. result })
    end
  end
end

--- The two models a comparison asks, as the engine chooses them (compare.h): the current model
--- against the next one of compare.models when it is in the list, else the list's first two.
function M.models(cfg)
  local list = cfg.compare.models or {}
  for i, m in ipairs(list) do
    if m == cfg.model then
      return { m, list[i % #list + 1] }
    end
  end
  return { list[1], list[2] }
end

--- Asks turn (a critique or an explanation of thread t) of two models at once.
function M.start(t, turn, confirmed)
  local cfg = require('ami.config').get()
  if not confirmed then
    local privacy = require('ami.privacy')
    local models = M.models(cfg)
    if privacy.needs_confirmation(models[1]) or privacy.needs_confirmation(models[2]) then
      privacy.confirm(models, function()
        M.start(t, turn, true)
      end)
      return { pending = true }
    end
  end
  local notes_on = turn.kind == 'critique' and cfg.notes.enabled
  local token = notes_on and require('ami.notes').begin(t.doc) or nil
  local payload = {
    kind = turn.kind, document = turn.document, path = turn.path, line_start = turn.line_start,
    line_end = turn.line_end, question = turn.question, name = turn.name,
  }
  local res, err = require('ami.host').request('compare', {
    command = turn.kind,
    turns = { payload },
    document = t.path,
    thread = t.id,
    notes = notes_on or nil,
    model = cfg.model,
  })
  if not res then
    if token then
      require('ami.notes').done(t.doc, token)
    end
    notify(tostring(err):gsub('^ami: ', ''), vim.log.levels.ERROR)
    return nil
  end
  M.register()
  local pair = {
    id = res.pair, thread = t, doc = t.doc, turn = turn, blind = res.blind, when = os.date('%H:%M'),
    notes_token = token, sides = {},
  }
  for i, key in ipairs({ 'a', 'b' }) do
    local side = res[key]
    local buf = sidebar.buffer(('%s · %s'):format(t.path or t.name, i == 1 and 'A' or 'B'))
    local s = { id = side.id, model = side.model, buf = buf, chunks = {}, notes = {}, status = 'running' }
    pair.sides[i] = s
    by_request[side.id] = { pair = pair, i = i }
    s.region = sidebar.open_region(buf, { label(pair, i), subtitle(pair, i) })
    map_votes(buf, pair)
  end
  open_panes(pair)
  pairs_by_doc[t.doc] = pair
  return pair
end

-- ---- events -----------------------------------------------------------------------------------

local function side_of(ev)
  local r = by_request[ev.id]
  if r then
    return r.pair, r.pair.sides[r.i], r.i
  end
end

local handlers = {}

function handlers.start(ev)
  local pair = side_of(ev)
  if pair and ev.language and not pair.language then
    pair.language = ev.language
  end
end

function handlers.secrets(ev)
  local pair, s, i = side_of(ev)
  if s and i == 1 then -- both sides mask the same texts: told once
    local text = require('ami.secrets').report(pair.doc, ev)
    sidebar.insert(s.region, '*' .. text .. '*\n\n')
  end
end

function handlers.model(ev)
  local _, s = side_of(ev)
  if s then
    s.model_answered = ev.model
  end
end

function handlers.delta(ev)
  local _, s = side_of(ev)
  if s then
    s.chunks[#s.chunks + 1] = ev.text
    sidebar.insert(s.region, ev.text)
  end
end

function handlers.note(ev)
  local pair, s = side_of(ev)
  if s and pair.notes_token then
    table.insert(s.notes, { ev = ev })
    if pair.result then -- voted before this note arrived: it goes on at once if its side won
      M.place(pair)
    end
  end
end

function handlers.note_comment(ev)
  local pair, s = side_of(ev)
  if not s then
    return
  end
  for _, n in ipairs(s.notes) do
    if n.ev.uid == ev.uid then
      n.comment = ev
      if n.placed then
        require('ami.notes').on_comment(pair.doc, ev)
      end
    end
  end
end

function handlers.done(ev)
  local pair, s, i = side_of(ev)
  if not s then
    return
  end
  s.status = ev.status
  s.result = ev
  s.model_answered = ev.model_answered or s.model_answered
  local text = '\n' -- ends the answer's last line, or is the blank line after it
  if #s.chunks > 0 and not s.chunks[#s.chunks]:match('\n$') then
    text = '\n\n'
  end
  if ev.status ~= 'done' and ev.message then
    text = text .. ('**⚠ %s: %s**\n\n'):format(ev.status, ev.message)
  end
  s.footer_text = footer(pair, i)
  sidebar.insert(s.region, text .. s.footer_text, true)
  require('ami.cost').add(pair.doc, ev)
  if pair.sides[1].result and pair.sides[2].result then
    notify(('both answers are in: vote with :AmiVote a|b|tie|bad (or a, b, t, x in the panes)%s')
      :format(pair.blind and '; the models are named after the vote' or ''))
  end
end

function handlers.voted(ev)
  local pair = pending_votes[ev.token]
  pending_votes[ev.token] = nil
  if not pair then
    return
  end
  if not ev.ok then
    pair.result = pair.previous
    notify(ev.error or 'the vote could not be recorded', vim.log.levels.ERROR)
    return
  end
  M.reveal(pair)
  M.place(pair)
  local function who(i)
    local s = pair.sides[i]
    local r = s.result or {}
    return ('%s %s (%s)'):format(i == 1 and 'A' or 'B', s.model_answered or s.model,
      cost.format_usd(r.cost_usd, r.cost_source or 'unknown'))
  end
  notify(('vote recorded: %s · %s · %s'):format(({ a = 'A helped more', b = 'B helped more',
    tie = 'a tie', bad = 'both bad' })[ev.result], who(1), who(2)))
end

function handlers.arena_report(ev)
  local buf = pending_reports[ev.token]
  pending_reports[ev.token] = nil
  if not buf or not api.nvim_buf_is_valid(buf) then
    return
  end
  local text = ev.text or ('ami arena: ' .. tostring(ev.error))
  require('ami.compat').set_buf(buf, 'modifiable', true)
  api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(text:gsub('\n$', ''), '\n', { plain = true }))
  require('ami.compat').set_buf(buf, 'modifiable', false)
end

local registered = false
function M.register()
  if registered then
    return
  end
  registered = true
  local host = require('ami.host')
  for kind, fn in pairs(handlers) do
    host.on(kind, fn)
  end
end

-- ---- the vote ----------------------------------------------------------------------------------

--- Reveals the models and the prices in the panes' headers and footers.
function M.reveal(pair)
  for i, s in ipairs(pair.sides) do
    sidebar.set_header_line(s.region, 0, label(pair, i))
    sidebar.set_header_line(s.region, 1, subtitle(pair, i))
    if s.result and s.footer_text then
      local f = footer(pair, i)
      local lines = api.nvim_buf_get_lines(s.buf, 0, -1, false)
      for n = #lines, 1, -1 do
        if lines[n] == s.footer_text then
          require('ami.compat').set_buf(s.buf, 'modifiable', true)
          api.nvim_buf_set_lines(s.buf, n - 1, n, false, { f })
          require('ami.compat').set_buf(s.buf, 'modifiable', false)
          break
        end
      end
      s.footer_text = f
    end
  end
end

--- Puts the voted answers' notes on the document: A's, B's, both for a tie, none for "bad".
function M.place(pair)
  if not pair.notes_token then
    return
  end
  local winners = ({ a = { 1 }, b = { 2 }, tie = { 1, 2 }, bad = {} })[pair.result] or {}
  local notes = require('ami.notes')
  for _, i in ipairs(winners) do
    local s = pair.sides[i]
    for _, n in ipairs(s.notes) do
      if not n.placed then
        n.placed = true
        notes.on_note(pair.doc, pair.notes_token, n.ev, { model = s.model, model_answered = s.model_answered })
        if n.comment then
          notes.on_comment(pair.doc, n.comment)
        end
      end
    end
  end
end

--- Records the vote (a, b, tie, bad) on pair; again: changes it.
function M.vote(pair, result)
  if not pair then
    return notify('no comparison to vote on here: :Critique! starts one', vim.log.levels.ERROR)
  end
  if not (pair.sides[1].result and pair.sides[2].result) then
    return notify('wait for both answers before voting', vim.log.levels.WARN)
  end
  local res, err = require('ami.host').request('vote', pair.id, result, pair.language)
  if not res then
    return notify(tostring(err):gsub('^ami: ', ''), vim.log.levels.ERROR)
  end
  pair.previous = pair.result
  pair.result = result
  pending_votes[res.token] = pair
end

--- The pair a command applies to: the pane's, else the latest of the current document.
function M.current()
  local buf = api.nvim_get_current_buf()
  for _, r in pairs(by_request) do
    for _, s in ipairs(r.pair.sides) do
      if s.buf == buf then
        return r.pair
      end
    end
  end
  local t = require('ami.thread').get(buf, false)
  return pairs_by_doc[t and t.doc or buf]
end

--- :AmiArena: the leaderboard in a scratch buffer.
function M.arena()
  M.register()
  local res, err = require('ami.host').request('arena_report', vim.empty_dict and vim.empty_dict() or {})
  if not res then
    return notify(tostring(err):gsub('^ami: ', ''), vim.log.levels.ERROR)
  end
  local view = require('ami.view')
  local buf = view.buffer('ami://arena', nil, 'close the leaderboard')
  view.set_lines(buf, { 'ami arena: reading your votes…' })
  pending_reports[res.token] = buf
  view.show(buf)
  return buf
end

return M
