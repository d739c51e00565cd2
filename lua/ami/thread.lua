-- ami.thread: one thread per document, its turns, and the answers streaming into it.
--
-- A turn keeps everything it was asked with (the document as it was, the passage, the
-- question) and the answer it got, so a follow-up sends the earlier turns back and the engine
-- keeps no state between requests: a restarted engine loses nothing.
local M = {}

local api = vim.api
local sidebar = require('ami.sidebar')

local threads = {} -- document buffer -> thread
local by_sidebar = {} -- sidebar buffer -> thread
local answers = {} -- request id -> answer
local running = 0

M.default_question = 'Is this passage clear and explicit? How could its wording improve?'
M.default_explore_question = 'Does this idea make sense to you? What does it evoke?'

local function now_hm()
  return os.date('%H:%M')
end

local function doc_name(buf)
  local name = api.nvim_buf_get_name(buf)
  if name == '' then
    return '[No Name]', nil
  end
  return vim.fn.fnamemodify(name, ':~:.'), vim.fn.fnamemodify(name, ':p')
end

--- The thread of a document buffer (or of the document behind a sidebar buffer).
function M.get(buf, create)
  buf = (buf == nil or buf == 0) and api.nvim_get_current_buf() or buf
  if by_sidebar[buf] then
    return by_sidebar[buf]
  end
  local t = threads[buf]
  if t or not create then
    return t
  end
  local name, path = doc_name(buf)
  local sb = sidebar.buffer(path or ('[No Name]/' .. buf))
  t = { doc = buf, name = name, path = path, buf = sb, turns = {}, queue = {},
    id = tostring(buf) .. '-' .. os.time() }
  threads[buf] = t
  by_sidebar[sb] = t
  sidebar.append_lines(sb, { '# ami · ' .. name, '' })
  require('ami.cost').watch(buf, path)
  require('ami.input').attach(t)
  if path then
    M.restore(t)
  end
  return t
end

-- ---- coming back tomorrow: the ledger's earlier turns -------------------------------------

local restoring = {} -- token -> thread

-- The turn as the ledger kept it (its `turn` JSON), or a minimal one.
local function decode_turn(row)
  local ok, v = pcall(vim.fn.json_decode, row.turn or '')
  if not ok or type(v) ~= 'table' then
    v = {}
  end
  local kind = v.kind or (row.command == 'followup' and 'ask') or row.command
  return {
    kind = kind,
    question = v.question,
    name = v.name,
    path = v.path,
    line_start = v.line_start,
    line_end = v.line_end,
    note = v.note_quote and { quote = v.note_quote, kind = v.note_kind } or nil,
    followup = row.command == 'followup',
  }
end

--- Asks the ledger for the document's earlier thread; its turns are shown (and carried by
--- follow-ups) before any new question of this session is sent.
function M.restore(t)
  local host = require('ami.host')
  local res = host.request('thread_history', t.path)
  if not res then
    return
  end
  t.restoring = true
  restoring[res.token] = t
end

local function on_history(ev)
  local t = restoring[ev.token]
  if not t then
    return
  end
  restoring[ev.token] = nil
  t.restoring = false
  local turns = ev.turns or {}
  if ev.thread and #turns > 0 then
    t.id = ev.thread
    local kept = 0
    local earlier = {}
    for _, row in ipairs(turns) do
      local turn = decode_turn(row)
      local answer = row.answer
      if answer then
        kept = kept + 1
      end
      turn.restored = true
      turn.answer_text = function()
        return answer or ''
      end
      if turn.kind == 'critique' or turn.kind == 'explore' or (turn.kind == 'ask' and not turn.followup) then
        -- The document as it was is not kept: today's goes along in its place, and the lines
        -- asked about are kept within it.
        turn.document = M.buffer_text(t.doc)
        local n = turn.document and select(2, turn.document:gsub('\n', '')) or 0
        if turn.kind ~= 'ask' and (n == 0 or not turn.line_start) then
          turn.kind = 'ask'
          turn.question = turn.question or 'An earlier question about this document.'
        elseif turn.line_start then
          turn.line_end = math.min(turn.line_end or turn.line_start, n)
          turn.line_start = math.min(turn.line_start, turn.line_end)
        end
      end
      table.insert(earlier, turn)
      local header = M.header(turn, (row.model or '?'), os.date('%Y-%m-%d %H:%M', row.started))
      local region = sidebar.open_region(t.buf, header)
      local body = answer or '*(the text of this answer was not kept: ledger.store_text = false)*'
      sidebar.insert(region, body)
      local tail = '\n\n'
      if row.status ~= 'ok' and row.error then
        tail = tail .. ('**⚠ %s: %s**\n\n'):format(row.status, row.error)
      end
      sidebar.insert(region, tail .. M.footer(row, { model = row.model }), true)
      t.restored = t.restored or {}
      table.insert(t.restored, { region = region, uid = row.uid ~= '' and row.uid or nil })
    end
    -- The earlier turns come first: questions asked meanwhile wait in the queue.
    for i = #earlier, 1, -1 do
      table.insert(t.turns, 1, earlier[i])
    end
    local when = os.date('%Y-%m-%d', turns[#turns].started)
    sidebar.append_lines(t.buf, { ('*— the conversation of %s, from the ledger%s —*'):format(when,
      kept < #turns and ' (some texts were not kept)' or ''), '' })
  end
  M.drain(t)
end

function M.buffer_text(buf)
  if not api.nvim_buf_is_valid(buf) then
    return nil
  end
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  if #lines == 0 or (#lines == 1 and lines[1] == '') then
    return nil
  end
  return table.concat(lines, '\n') .. '\n'
end

--- True when buf is a thread (sidebar) buffer.
function M.is_sidebar(buf)
  return by_sidebar[buf] ~= nil
end

local function header_for(turn, model, when)
  local lines = {}
  if turn.kind == 'critique' then
    local range = turn.line_start == turn.line_end and ('line ' .. turn.line_start)
      or ('lines %d–%d'):format(turn.line_start, turn.line_end)
    table.insert(lines, ('## Critique · %s, %s'):format(turn.path or '[No Name]', range))
    table.insert(lines, '> ' .. (turn.question or M.default_question):gsub('\n', ' '))
  elseif turn.kind == 'explain' then
    table.insert(lines, ('## Explain · “%s”'):format(turn.name))
  elseif turn.kind == 'explore' then
    local range = turn.line_start and (turn.line_start == turn.line_end and ('line ' .. turn.line_start)
      or ('lines %d–%d'):format(turn.line_start, turn.line_end)) or 'an idea'
    table.insert(lines, ('## Explore · %s, %s'):format(turn.path or '[No Name]', range))
    table.insert(lines, '> ' .. (turn.question or M.default_explore_question):gsub('\n', ' '))
  elseif turn.note then
    local q = turn.note.quote:gsub('%s*\n%s*', ' ')
    if #q > 60 then
      local cut = 57
      while cut > 1 and q:byte(cut + 1) and q:byte(cut + 1) >= 0x80 and q:byte(cut + 1) < 0xC0 do
        cut = cut - 1 -- never cut a character in two
      end
      q = q:sub(1, cut) .. '…'
    end
    table.insert(lines, ('## Reply · note %s« %s »'):format(turn.note.kind and (turn.note.kind .. ' ') or '', q))
    table.insert(lines, '> ' .. turn.question:gsub('\n', ' '))
  else
    table.insert(lines, turn.followup and '## Follow-up' or '## Question')
    table.insert(lines, '> ' .. turn.question:gsub('\n', ' '))
  end
  table.insert(lines, ('*%s · %s*'):format(model, when or now_hm()))
  return lines
end
M.header = header_for

local function notify(msg, level)
  vim.notify('ami: ' .. msg, level or vim.log.levels.INFO)
end

local function turn_payload(turn, answer)
  return {
    kind = turn.kind,
    document = turn.document,
    path = turn.path,
    line_start = turn.line_start,
    line_end = turn.line_end,
    question = turn.question,
    name = turn.name,
    note_kind = turn.note and turn.note.kind,
    note_quote = turn.note and turn.note.quote,
    note_comment = turn.note and turn.note.comment,
    answer = answer,
  }
end

--- Asks a new question in thread t.  turn: { kind, document, path, line_start, line_end,
--- question, name, followup }.  Opens the sidebar without taking the focus.
function M.ask(t, turn, opts)
  opts = opts or {}
  local privacy = require('ami.privacy')
  local asked = opts.model or require('ami.config').get().model
  if not opts.confirmed and privacy.needs_confirmation(asked) then
    -- A free model may train on the text: ask first (once per model and session).
    privacy.confirm({ asked }, function()
      opts.confirmed = true
      M.ask(t, turn, opts)
    end)
    return { pending = true }
  end
  if t.restoring then
    -- The earlier conversation is on its way from the ledger: this question goes after it.
    -- Its document was taken now: its notes are carried through the edits made from now on.
    if turn.kind == 'critique' and require('ami.config').get().notes.enabled and not turn.notes_token then
      turn.notes_token = require('ami.notes').begin(t.doc)
    end
    table.insert(t.queue, { turn = turn, opts = opts })
    sidebar.show(t.buf)
    return { queued = true }
  end
  local cfg = require('ami.config').get()
  local model = opts.model or cfg.model
  local payload = {}
  for _, earlier in ipairs(t.turns) do
    table.insert(payload, turn_payload(earlier, earlier.answer_text()))
  end
  table.insert(payload, turn_payload(turn, nil))
  sidebar.show(t.buf)
  local region = sidebar.open_region(t.buf, header_for(turn, model))
  local answer = {
    thread = t,
    turn = turn,
    region = region,
    chunks = {},
    status = 'running',
    model = model,
    started = os.time(),
  }
  turn.answer_text = function()
    return table.concat(answer.chunks)
  end
  table.insert(t.turns, turn)
  -- A critique's remarks land on the words (ami.notes): edits made from now on are carried.
  local want_notes = turn.kind == 'critique' and cfg.notes.enabled
  if package.loaded['ami.notes'] then
    require('ami.notes').flush() -- dismissals before the prompt that lists them
  end
  if want_notes then
    answer.notes_token = turn.notes_token or require('ami.notes').begin(t.doc)
    turn.notes_token = nil
    answer.notes = 0
  elseif turn.notes_token then
    require('ami.notes').done(t.doc, turn.notes_token)
    turn.notes_token = nil
  end
  local res, err = require('ami.host').request('start', {
    command = turn.followup and 'followup' or turn.kind,
    turns = payload,
    model = opts.model,
    document = t.path,
    thread = t.id,
    notes = want_notes or nil,
  })
  if not res then
    if answer.notes_token then
      require('ami.notes').done(t.doc, answer.notes_token)
    end
    answer.status = 'error'
    sidebar.insert(region, '**⚠ ' .. tostring(err):gsub('^ami: ', '') .. '**')
    notify(tostring(err):gsub('^ami: ', ''), vim.log.levels.ERROR)
    return nil
  end
  answer.id = res.id
  answers[res.id] = answer
  running = running + 1
  return answer
end

--- Ids of the answers still streaming in thread t.
function M.running_ids(t)
  local ids = {}
  for id, a in pairs(answers) do
    if a.thread == t and a.status == 'running' then
      table.insert(ids, id)
    end
  end
  return ids
end

function M.running_count()
  return running
end

--- The answer whose body contains line lnum (1-based) of sidebar buffer buf.
function M.answer_at(buf, lnum)
  local t = by_sidebar[buf]
  if not t then
    return nil
  end
  for _, a in pairs(M.all_answers(t)) do
    local s, e = sidebar.body_range(a.region)
    if s and lnum >= s and lnum <= e then
      return a
    end
  end
end

--- The answer restored from the ledger whose region holds line lnum of thread buffer buf:
--- {region, uid}, or nil.
function M.restored_at(buf, lnum)
  local t = by_sidebar[buf]
  for _, a in ipairs(t and t.restored or {}) do
    local s, e = sidebar.body_range(a.region)
    if s and lnum >= s - 1 and lnum <= e then
      return a
    end
  end
end

--- Every answer of thread t, finished or not.
function M.all_answers(t)
  t.finished = t.finished or {}
  local res = {}
  for _, a in pairs(answers) do
    if a.thread == t then
      table.insert(res, a)
    end
  end
  for _, a in ipairs(t.finished) do
    table.insert(res, a)
  end
  return res
end

-- ---- events from the engine ---------------------------------------------------------------

local function footer(ev, answer)
  answer = answer or {}
  local cost = require('ami.cost')
  local parts = { answer.model_answered or ev.model_answered or answer.model }
  local est = ev.tokens_estimated and '~' or ''
  if ev.prompt_tokens and ev.prompt_tokens >= 0 then
    table.insert(parts, ('%s%s in · %s%s out'):format(est, cost.format_int(ev.prompt_tokens), est,
      cost.format_int(ev.completion_tokens)))
  end
  table.insert(parts, cost.format_usd(ev.cost_usd, ev.cost_source))
  if ev.co2e_g and ev.co2e_g >= 0 then
    table.insert(parts, cost.format_co2(ev.co2e_g))
  end
  if ev.duration_ms and ev.duration_ms >= 0 then
    table.insert(parts, ('%.1f s'):format(ev.duration_ms / 1000))
  end
  if answer.notes and answer.notes > 0 then
    local lost = answer.notes_unanchored or 0
    table.insert(parts, ('%d note%s on the text%s'):format(answer.notes - lost,
      answer.notes - lost == 1 and '' or 's', lost > 0 and (', %d not found'):format(lost) or ''))
  end
  return '*— ' .. table.concat(parts, ' · ') .. '*'
end
M.footer = footer

--- A follow-up typed in the thread: asked now, or queued after the running answer.
function M.follow_up(t, question)
  local turn = { kind = 'ask', question = question, followup = #t.turns > 0 }
  if #t.turns == 0 then
    turn.document = M.buffer_text(t.doc)
    turn.path = t.name
  end
  if #M.running_ids(t) > 0 or t.restoring then
    table.insert(t.queue, { turn = turn, opts = {} })
    sidebar.append_lines(t.buf, { ('*(queued: “%s” goes as soon as the answer above ends)*'):format(
      question:gsub('%s*\n%s*', ' ')), '' })
    return { queued = true }
  end
  return M.ask(t, turn)
end

--- Sends the next queued question of t once nothing is running nor restoring.
function M.drain(t)
  if t.restoring or #M.running_ids(t) > 0 or #t.queue == 0 then
    return
  end
  local q = table.remove(t.queue, 1)
  if q.turn.kind == 'ask' and q.turn.followup == false and #t.turns > 0 then
    q.turn.followup = true
  end
  M.ask(t, q.turn, q.opts)
end

local handlers = {}

function handlers.start(ev)
  local a = answers[ev.id]
  if not a then
    return
  end
  a.uid = ev.uid
  if ev.note then
    sidebar.insert(a.region, '*' .. ev.note .. '*\n\n')
    a.note_inserted = true
  end
end

function handlers.secrets(ev)
  local a = answers[ev.id]
  if a then
    local text = require('ami.secrets').report(a.thread.doc, ev)
    sidebar.insert(a.region, '*' .. text .. '*\n\n')
  end
end

function handlers.retry(ev)
  local a = answers[ev.id]
  if a then
    notify(ev.message, vim.log.levels.WARN)
  end
end

function handlers.model(ev)
  local a = answers[ev.id]
  if a then
    a.model_answered = ev.model
  end
end

function handlers.note(ev)
  local a = answers[ev.id]
  if a and a.notes_token then
    local n = require('ami.notes').on_note(a.thread.doc, a.notes_token, ev, a)
    a.notes = a.notes + 1
    if n.state == 'unanchored' then
      a.notes_unanchored = (a.notes_unanchored or 0) + 1
    end
  end
end

function handlers.note_comment(ev)
  local a = answers[ev.id]
  if a and a.notes_token then
    require('ami.notes').on_comment(a.thread.doc, ev)
  end
end

function handlers.thread_history(ev)
  on_history(ev)
end

function handlers.notes_loaded(ev)
  require('ami.notes').on_loaded_event(ev)
end

function handlers.notice(ev)
  notify(ev.message, vim.log.levels.WARN)
end

function handlers.delta(ev)
  local a = answers[ev.id]
  if not a then
    return
  end
  local chunks = a.chunks
  chunks[#chunks + 1] = ev.text
  sidebar.insert(a.region, ev.text)
end

local status_words = {
  error = 'error',
  interrupted = 'interrupted',
  cancelled = 'stopped',
  refused = 'refused',
}

local function finish(a, ev)
  answers[a.id] = nil
  running = running - 1
  a.status = ev.status
  a.result = ev -- the 'done' event: tokens, cost, timings, message
  a.model_answered = ev.model_answered or a.model_answered
  a.ended = os.time()
  local t = a.thread
  t.finished = t.finished or {}
  table.insert(t.finished, a)
  local text = '\n' -- ends the answer's last line, or is the blank line after it
  if #a.chunks > 0 and not a.chunks[#a.chunks]:match('\n$') then
    text = '\n\n'
  end
  local word = status_words[ev.status]
  if word then
    local msg = ev.message or word
    local partial = #a.chunks > 0 and ev.status ~= 'error' and ' (partial answer kept)' or ''
    text = text .. ('**⚠ %s: %s%s**\n\n'):format(word, msg, partial:find(msg, 1, true) and '' or partial)
  end
  if ev.status ~= 'refused' and ev.status ~= 'error' or (ev.prompt_tokens and ev.prompt_tokens > 0) then
    text = text .. footer(ev, a)
  end
  sidebar.insert(a.region, text, true) -- one insert: the window follows once
  require('ami.cost').add(t.doc, ev)
  if a.notes_token then
    require('ami.notes').done(t.doc, a.notes_token)
  end
  vim.schedule(function()
    M.drain(t)
  end)
  if word and not ev.quiet then
    local level = ev.status == 'cancelled' and vim.log.levels.INFO or vim.log.levels.ERROR
    notify(ev.message or word, level)
  end
end

function handlers.done(ev)
  local a = answers[ev.id]
  if a then
    finish(a, ev)
  end
end

function handlers.host_exit(ev)
  for _, a in pairs(answers) do
    finish(a, {
      status = 'interrupted',
      message = 'the engine process stopped; the answer is incomplete',
      cost_source = 'unknown',
      quiet = true,
    })
  end
  return ev
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

return M
