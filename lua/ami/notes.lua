-- ami.notes: margin notes, the critique's remarks on the writer's own words.
--
-- The engine cuts the answer into notes as it streams and finds each note's quoted words in
-- the document as it was sent (Lua never matches text).  This module places each note on its
-- words while the answer still streams, carries it through the edits made since the document
-- was sent (ami.edits), then lets an extmark follow the words; it shows notes as diagnostics
-- (namespace "ami"), a subtle highlight on the words, and in the location list.
--
-- A note's state: anchored (the same words, found exactly), approximate (found by
-- similarity), stale (the writer edited the words since), unanchored (the words are nowhere,
-- or were deleted: listed, never attached to a guessed place), dismissed (set aside by the
-- writer; remembered, and sent with the next critique so the model does not repeat it).
--
-- Tracking costs a keystroke almost nothing: on_bytes records the edit only while a critique
-- of the buffer is in flight, and otherwise looks up the notes of the edited rows only (never
-- the whole buffer); checking whether their words changed waits for the next tick.
local M = {}

local api = vim.api
local edits = require('ami.edits')

M.ns = api.nvim_create_namespace('ami') -- the diagnostics' namespace (documented)
local marks = api.nvim_create_namespace('ami.notes') -- extmarks on the words

vim.cmd('highlight default link AmiNote DiagnosticUnderlineHint')
vim.cmd('highlight default link AmiNoteApproximate DiagnosticUnderlineHint')
vim.cmd('highlight default link AmiNoteStale Comment')

local has_overlap = vim.fn.has('nvim-0.10') == 1 -- nvim_buf_get_extmarks { overlap = true }

local docs = {} -- document buffer -> state (see doc())

local function cfg()
  return require('ami.config').get().notes
end

local function doc(buf, create)
  local d = docs[buf]
  if d or not create then
    return d
  end
  d = {
    buf = buf,
    notes = {}, -- uid -> note
    order = {}, -- uids, in arrival order
    by_mark = {}, -- extmark id -> note
    log = edits.new(),
    pending = 0, -- critiques or loads in flight: edits are logged meanwhile
    span = 1, -- the most rows a placed note spans: how far back an edit may reach one
    dirty = {}, -- notes whose words may have changed, checked on the next tick
    loaded = false,
  }
  docs[buf] = d
  return d
end

-- ---- the host ------------------------------------------------------------------------------

-- State changes go to the ledger in one call per state, a tick later (a burst of edits makes
-- one call); M.flush() sends them at once, before anything that must see them.
local outbox = {}
local outbox_pending = false

function M.flush()
  local sending = outbox
  outbox = {}
  local host = require('ami.host')
  for st, o in pairs(sending) do
    local ok, err = host.request('notes_state', o.uids, st, o.ranges)
    if not ok then
      vim.notify(err or 'ami: could not save the notes', vim.log.levels.WARN)
    end
  end
end

local function persist(note, state)
  if not note.uid then
    return
  end
  outbox[state] = outbox[state] or { uids = {}, ranges = {} }
  local o = outbox[state]
  table.insert(o.uids, note.uid)
  local r = note.range or { -1, -1, -1, -1 }
  for i = 1, 4 do
    table.insert(o.ranges, r[i])
  end
  if outbox_pending then
    return
  end
  outbox_pending = true
  vim.schedule(function()
    outbox_pending = false
    M.flush()
  end)
end

-- ---- diagnostics ---------------------------------------------------------------------------

local severities = {
  error = vim.diagnostic.severity.ERROR,
  warn = vim.diagnostic.severity.WARN,
  info = vim.diagnostic.severity.INFO,
  hint = vim.diagnostic.severity.HINT,
}

local function one_line(s)
  return (s or ''):gsub('%s*\n%s*', ' ')
end

local function message(n)
  local comment = n.comment ~= '' and one_line(n.comment) or ('« ' .. one_line(n.quote) .. ' »')
  local prefix = n.state == 'stale' and '(stale) ' or n.state == 'approximate' and '(≈) ' or ''
  return ('%s%s: %s'):format(prefix, n.kind or 'note', comment)
end

-- The note's words as they are now: its extmark's range, or nil.
local function current_range(d, n)
  if not n.mark then
    return nil
  end
  local m = api.nvim_buf_get_extmark_by_id(d.buf, marks, n.mark, { details = true })
  if not m[1] then
    return nil
  end
  local det = m[3] or {}
  return { m[1], m[2], det.end_row or m[1], det.end_col or m[2] }
end

local refresh_pending = {}
local function refresh_now(d)
  if not api.nvim_buf_is_valid(d.buf) then
    return
  end
  local c = cfg()
  local list = {}
  if c.enabled then
    for _, uid in ipairs(d.order) do
      local n = d.notes[uid]
      local r = n.state ~= 'dismissed' and n.state ~= 'unanchored' and current_range(d, n)
      if r then
        n.range = r
        table.insert(list, {
          lnum = r[1],
          col = r[2],
          end_lnum = r[3],
          end_col = r[4],
          severity = severities[c.severity] or vim.diagnostic.severity.HINT,
          source = 'ami',
          message = message(n),
          user_data = { ami_note = uid },
        })
      end
    end
  end
  vim.diagnostic.set(M.ns, d.buf, list)
end

local function refresh(d)
  if refresh_pending[d.buf] then
    return
  end
  refresh_pending[d.buf] = true
  vim.schedule(function()
    refresh_pending[d.buf] = nil
    refresh_now(d)
  end)
end

--- Applies notes.virtual_text and notes.signs to the "ami" diagnostics (after setup()).
function M.configure()
  local c = cfg()
  vim.diagnostic.config({
    underline = false, -- the words get ami's own highlight (AmiNote), or none
    virtual_text = c.virtual_text,
    signs = c.signs,
    severity_sort = true,
  }, M.ns)
  for _, d in pairs(docs) do
    refresh(d)
  end
end

-- ---- placing -------------------------------------------------------------------------------

local hl_for = { anchored = 'AmiNote', approximate = 'AmiNoteApproximate', stale = 'AmiNoteStale' }

local function unplace(d, n)
  if n.mark then
    pcall(api.nvim_buf_del_extmark, d.buf, marks, n.mark)
    d.by_mark[n.mark] = nil
    n.mark = nil
  end
end

-- Puts (or moves) n's extmark on range r; false when r is not in the buffer.
local function place(d, n, r)
  local buf = d.buf
  local count = api.nvim_buf_line_count(buf)
  if r[1] >= count or r[3] >= count or r[1] < 0 then
    return false
  end
  local last = api.nvim_buf_get_lines(buf, r[3], r[3] + 1, false)[1] or ''
  local first = r[1] == r[3] and last or (api.nvim_buf_get_lines(buf, r[1], r[1] + 1, false)[1] or '')
  if r[2] > #first or r[4] > #last then
    return false
  end
  local opts = { end_row = r[3], end_col = r[4], id = n.mark, right_gravity = true,
    end_right_gravity = false }
  local c = cfg()
  if c.highlight then
    opts.hl_group = hl_for[n.state]
  end
  local ok, id = pcall(api.nvim_buf_set_extmark, buf, marks, r[1], r[2], opts)
  if not ok then
    return false
  end
  n.mark = id
  d.by_mark[id] = n
  n.range = r
  d.span = math.max(d.span, r[3] - r[1] + 1)
  return true
end

local function text_at(buf, r)
  local ok, lines = pcall(api.nvim_buf_get_text, buf, r[1], r[2], r[3], r[4], {})
  return ok and table.concat(lines, '\n') or nil
end

local function set_state(d, n, state)
  if n.state == state then
    return
  end
  n.state = state
  if state == 'unanchored' or state == 'dismissed' then
    unplace(d, n)
  elseif n.mark and cfg().highlight then
    local r = current_range(d, n)
    if r then
      place(d, n, r)
    end
  end
  persist(n, state)
end

local function add(d, n)
  if not d.notes[n.uid] then
    table.insert(d.order, n.uid)
  else
    unplace(d, d.notes[n.uid])
  end
  d.notes[n.uid] = n
end

--- Before a document's text goes to the engine (a critique, or loading its notes): edits made
--- from now on are logged, so what comes back can be carried through them.  Returns a token
--- for M.placed() / M.done().
function M.begin(buf)
  local d = doc(buf, true)
  M.attach(d)
  d.pending = d.pending + 1
  return edits.mark(d.log)
end

--- The critique or the load that began with token is over.
function M.done(buf, token)
  local d = docs[buf]
  if not d then
    return
  end
  d.pending = math.max(0, d.pending - 1)
  if d.pending == 0 then
    edits.forget(d.log, d.log.n)
  end
  local _ = token
end

-- Carries range r (in the text as sent at token) to now, checks that the words are still
-- there, and places n: state from how it was found, stale when the words changed since.
local function land(d, n, token, r, words)
  local now, touched = edits.map(d.log, token, r)
  local empty = now[1] == now[3] and now[2] == now[4]
  if empty then
    n.state = 'unanchored'
    return
  end
  if not place(d, n, now) then
    n.state = 'unanchored'
    return
  end
  local text = text_at(d.buf, now)
  if words and text ~= words then
    touched = true
  end
  n.text = text
  if touched then
    n.state = 'stale'
    if cfg().highlight then
      place(d, n, now) -- its highlight follows the state
    end
  end
end

local initial = { exact = 'anchored', approximate = 'approximate', unanchored = 'unanchored' }

--- A note event from the engine for document buffer buf (token from M.begin): its words
--- found (or not) in the text as sent.
function M.on_note(buf, token, ev, answer)
  local d = doc(buf, true)
  local n = {
    uid = ev.uid,
    seq = ev.seq,
    kind = ev.kind,
    quote = ev.quote or '',
    comment = '',
    state = initial[ev.anchor] or 'unanchored',
    anchor = ev.anchor,
    model = answer and (answer.model_answered or answer.model) or ev.model,
    answered_at = ev.created or os.time(),
    request = ev.id,
  }
  add(d, n)
  if ev.range and n.state ~= 'unanchored' then
    land(d, n, token, ev.range, ev.words)
    if n.state ~= initial[ev.anchor] then
      persist(n, n.state)
    end
  end
  refresh(d)
  return n
end

--- The note's comment is complete.
function M.on_comment(buf, ev)
  local d = docs[buf]
  local n = d and d.notes[ev.uid]
  if n then
    n.comment = ev.comment or ''
    refresh(d)
  end
end

--- The notes the ledger holds for buf's file, re-anchored by the engine in the text sent at
--- token (M.begin).
function M.on_loaded(buf, token, list)
  local d = doc(buf, true)
  d.loaded = true
  for _, item in ipairs(list or {}) do
    local n = {
      uid = item.uid,
      seq = item.seq,
      kind = item.kind,
      quote = item.quote or '',
      comment = item.comment or '',
      state = item.state,
      anchor = item.anchor,
      model = item.model,
      answered_at = item.created,
    }
    add(d, n)
    if item.range and n.state ~= 'dismissed' and n.state ~= 'unanchored' then
      local was = n.state
      land(d, n, token, item.range, item.words)
      if was == 'stale' and n.state ~= 'unanchored' then
        n.state = 'stale'
      end
    end
  end
  M.done(buf, token)
  refresh(d)
end

-- ---- following edits -------------------------------------------------------------------------

local function check_dirty(d)
  local dirty = d.dirty
  d.dirty = {}
  d.check_pending = false
  if not api.nvim_buf_is_valid(d.buf) then
    return
  end
  local changed = false
  for n in pairs(dirty) do
    if n.mark and n.state ~= 'dismissed' and n.state ~= 'unanchored' then
      local r = current_range(d, n)
      if not r or (r[1] == r[3] and r[2] == r[4]) then
        set_state(d, n, 'unanchored') -- the words are gone
        changed = true
      else
        local text = text_at(d.buf, r)
        if text ~= n.text and n.state ~= 'stale' then
          n.before_stale = n.state
          set_state(d, n, 'stale')
          changed = true
        elseif text == n.text and n.state == 'stale' and n.before_stale then
          set_state(d, n, n.before_stale) -- an undo brought the words back
          changed = true
        end
      end
    end
  end
  if changed then
    refresh(d)
  end
end

-- on_bytes: log the edit while something is in flight; mark the notes on the edited rows.
local function on_bytes(_, buf, _, sr, sc, _, oer, oec, _, ner, nec)
  local d = docs[buf]
  if not d then
    return true -- detach
  end
  if d.pending > 0 then
    edits.record(d.log, sr, sc, oer, oec, ner, nec)
  end
  if next(d.by_mark) == nil then
    return
  end
  local last = sr + ner
  local found
  if has_overlap then
    found = api.nvim_buf_get_extmarks(buf, marks, { sr, 0 }, { last, -1 }, { overlap = true })
  else
    found = api.nvim_buf_get_extmarks(buf, marks, { math.max(0, sr - d.span + 1), 0 }, { last, -1 }, {})
  end
  for _, m in ipairs(found) do
    local n = d.by_mark[m[1]]
    if n then
      d.dirty[n] = true
    end
  end
  if next(d.dirty) and not d.check_pending then
    d.check_pending = true
    vim.schedule(function()
      check_dirty(d)
    end)
  end
end

--- Follows buf's edits (once per buffer).
function M.attach(d)
  if d.attached then
    return
  end
  d.attached = api.nvim_buf_attach(d.buf, false, {
    on_bytes = on_bytes,
    on_detach = function()
      d.attached = false
    end,
    on_reload = function()
      d.attached = false
    end,
  })
end

-- ---- reading ---------------------------------------------------------------------------------

--- The document's notes: { id, kind, quote, comment, state, range, model, answered_at }, range
--- = { start_row, start_col, end_row, end_col } (0-based, byte columns, end exclusive) or nil.
function M.list(buf)
  buf = (buf == nil or buf == 0) and api.nvim_get_current_buf() or buf
  local t = require('ami.thread').get(buf, false)
  if t and t.buf == buf then
    buf = t.doc
  end
  local d = docs[buf]
  local res = {}
  if not d then
    return res
  end
  for _, uid in ipairs(d.order) do
    local n = d.notes[uid]
    local r = (n.state ~= 'unanchored' and n.state ~= 'dismissed') and current_range(d, n) or nil
    table.insert(res, {
      id = uid,
      kind = n.kind,
      quote = n.quote,
      comment = n.comment,
      state = n.state,
      range = r,
      model = n.model,
      answered_at = n.answered_at,
    })
  end
  return res
end

--- The note under the cursor of the current window (its words contain the cursor; else the
--- nearest on the cursor's line), or nil.
function M.at_cursor(buf, row, col)
  local d = docs[buf]
  if not d then
    return nil
  end
  local best, best_d
  local found = api.nvim_buf_get_extmarks(buf, marks, { math.max(0, row - d.span + 1), 0 }, { row, -1 },
    { details = true })
  for _, m in ipairs(found) do
    local n = d.by_mark[m[1]]
    local det = m[4] or {}
    local er, ec = det.end_row or m[2], det.end_col or m[3]
    if n and n.state ~= 'dismissed' then
      local after_start = m[2] < row or (m[2] == row and m[3] <= col)
      local before_end = er > row or (er == row and ec > col)
      local dist
      if after_start and before_end then
        dist = 0
      elseif m[2] <= row and er >= row then
        dist = 1 + math.min(math.abs(col - m[3]), math.abs(col - ec))
      end
      if dist and (not best_d or dist < best_d) then
        best, best_d = n, dist
      end
    end
  end
  return best
end

--- Dismisses notes (a list of note tables of buf).
function M.dismiss(buf, list)
  local d = docs[buf]
  if not d then
    return 0
  end
  for _, n in ipairs(list) do
    set_state(d, n, 'dismissed')
  end
  M.flush() -- the next critique must know
  refresh_now(d)
  return #list
end

--- The live notes of buf (not dismissed).
function M.live(buf)
  local d = docs[buf]
  local res = {}
  for _, uid in ipairs(d and d.order or {}) do
    if d.notes[uid].state ~= 'dismissed' then
      table.insert(res, d.notes[uid])
    end
  end
  return res
end

--- The location list items of buf's notes (dismissed ones left out), in document order, the
--- unanchored ones last.
function M.loclist_items(buf)
  local placed, floating = {}, {}
  for _, n in ipairs(M.live(buf)) do
    local d = docs[buf]
    local r = n.state ~= 'unanchored' and current_range(d, n)
    local text = ('%s%s: %s'):format(n.state == 'stale' and '(stale) ' or '', n.kind or 'note',
      n.comment ~= '' and one_line(n.comment) or ('« ' .. one_line(n.quote) .. ' »'))
    if r then
      table.insert(placed, { bufnr = buf, lnum = r[1] + 1, col = r[2] + 1, end_lnum = r[3] + 1,
        end_col = r[4] + 1, text = text, type = 'I' })
    else
      table.insert(floating, { bufnr = buf, lnum = 0, text = ('(not found: « %s ») %s'):format(
        one_line(n.quote), text), type = 'I', valid = 0 })
    end
  end
  table.sort(placed, function(a, b)
    return a.lnum < b.lnum or (a.lnum == b.lnum and a.col < b.col)
  end)
  return vim.list_extend(placed, floating)
end

--- The dismissed notes of buf.
function M.dismissed(buf)
  local d = docs[buf]
  local res = {}
  for _, uid in ipairs(d and d.order or {}) do
    if d.notes[uid].state == 'dismissed' then
      table.insert(res, d.notes[uid])
    end
  end
  return res
end

-- ---- reopening ------------------------------------------------------------------------------

--- Asks the engine for buf's notes when its file has some (BufReadPost; the first critique).
--- force: even when the index does not list it.
function M.load(buf, force)
  if not cfg().enabled or not api.nvim_buf_is_valid(buf) or vim.bo[buf].buftype ~= '' then
    return
  end
  local name = api.nvim_buf_get_name(buf)
  if name == '' or name:find('^%a+://') then
    return
  end
  local path = vim.fn.fnamemodify(name, ':p')
  if not force and not require('ami.notes_index').has(path) then
    return
  end
  local d = docs[buf]
  if d then
    -- Reopened (:edit!): forget what was placed; the engine finds the words again.
    for _, n in pairs(d.notes) do
      unplace(d, n)
    end
    docs[buf] = nil
  end
  d = doc(buf, true)
  local token = M.begin(buf)
  local lines = api.nvim_buf_get_lines(buf, 0, -1, false)
  local text = table.concat(lines, '\n') .. (#lines > 0 and '\n' or '')
  local host = require('ami.host')
  require('ami.thread').register()
  local res, err = host.request('notes_load', { document = path, text = text })
  if not res then
    M.done(buf, token)
    vim.notify(err, vim.log.levels.WARN)
    return
  end
  d.load_token = res.token
  d.load_mark = token
end

--- The 'notes_loaded' event: route it to the buffer that asked.
function M.on_loaded_event(ev)
  for buf, d in pairs(docs) do
    if d.load_token == ev.token then
      d.load_token = nil
      M.on_loaded(buf, d.load_mark, ev.notes)
      return
    end
  end
end

M.configure()

--- Forgets a wiped-out buffer.
function M.forget(buf)
  docs[buf] = nil
end

return M
