-- ami.cost: what each document's answers cost, for require('ami').cost() and the statusline.
--
-- Totals are kept per document buffer: the answers of this session, plus what the usage
-- ledger recorded for the same file earlier (asked once, when the file's thread opens).  The
-- statusline string is computed when a total changes, never on redraw.
local M = {}

local api = vim.api

local totals = {} -- document buffer -> totals
local line = {}   -- buffer -> statusline string (documents and their thread buffers)

local function empty()
  return { requests = 0, prompt_tokens = 0, completion_tokens = 0, cost_usd = 0, estimated = false,
    unknown = 0, co2e_g = 0 }
end

-- ---- formatting (the same rules as the engine's cost_format) ------------------------------

function M.format_int(n)
  local s = tostring(math.floor(n + 0.5))
  local neg = s:sub(1, 1) == '-'
  if neg then
    s = s:sub(2)
  end
  s = s:reverse():gsub('(%d%d%d)', '%1,'):reverse():gsub('^,', '')
  return (neg and '-' or '') .. s
end

--- 1.3k tok, 850 tok, 2.1M tok
function M.format_tokens(n)
  if n >= 1e6 then
    return ('%.1fM tok'):format(n / 1e6)
  elseif n >= 1e3 then
    return ('%.1fk tok'):format(n / 1e3)
  end
  return ('%d tok'):format(n)
end

--- $0.0045, ~$0.0045 (estimated), cost unknown
function M.format_usd(usd, source)
  if source == 'unknown' or usd == nil or usd ~= usd then
    return 'cost unknown'
  end
  local prefix = source == 'estimated' and '~$' or '$'
  if usd == 0 then
    return prefix .. '0'
  end
  if usd >= 1 then
    return prefix .. ('%.2f'):format(usd)
  end
  local decimals = math.max(2, math.ceil(-math.log10(usd)) + 1)
  return prefix .. ('%.' .. decimals .. 'f'):format(usd)
end

function M.format_co2(g)
  if g >= 10 then
    return ('~%.0f gCO₂e'):format(g)
  end
  return ('~%.1f gCO₂e'):format(g)
end

-- ---- totals ---------------------------------------------------------------------------------

local function refresh(buf)
  local t = totals[buf]
  local s = ''
  if t and t.requests > 0 then
    local tokens = t.prompt_tokens + t.completion_tokens
    local money
    if t.unknown > 0 and t.cost_usd == 0 then
      money = 'cost unknown'
    else
      money = M.format_usd(t.cost_usd, t.estimated and 'estimated' or 'reported')
      if t.unknown > 0 then
        money = money .. '+?'
      end
    end
    s = ('ami %s · %s'):format(money, M.format_tokens(tokens))
  end
  line[buf] = s
  local thread = require('ami.thread').get(buf, false)
  if thread then
    line[thread.buf] = s
  end
end

local redraw_pending = false
local function redraw_soon()
  if redraw_pending then
    return
  end
  redraw_pending = true
  vim.schedule(function()
    redraw_pending = false
    vim.cmd('redrawstatus!')
  end)
end

--- Adds an answer's usage (a 'done' event) to document buffer buf.
function M.add(buf, ev)
  local t = totals[buf] or empty()
  totals[buf] = t
  if ev.status == 'refused' or (ev.prompt_tokens or 0) <= 0 and (ev.completion_tokens or 0) <= 0 then
    return
  end
  t.requests = t.requests + 1
  t.prompt_tokens = t.prompt_tokens + math.max(0, ev.prompt_tokens or 0)
  t.completion_tokens = t.completion_tokens + math.max(0, ev.completion_tokens or 0)
  if ev.cost_source == 'unknown' or ev.cost_usd == nil then
    t.unknown = t.unknown + 1
  else
    t.cost_usd = t.cost_usd + ev.cost_usd
    if ev.cost_source == 'estimated' then
      t.estimated = true
    end
  end
  if ev.co2e_g and ev.co2e_g > 0 then
    t.co2e_g = t.co2e_g + ev.co2e_g
  end
  refresh(buf)
  redraw_soon()
end

--- Adds totals recorded earlier (from the ledger) for buf's file.
function M.add_earlier(buf, earlier)
  local t = totals[buf] or empty()
  totals[buf] = t
  t.requests = t.requests + (earlier.requests or 0)
  t.prompt_tokens = t.prompt_tokens + (earlier.prompt_tokens or 0)
  t.completion_tokens = t.completion_tokens + (earlier.completion_tokens or 0)
  t.cost_usd = t.cost_usd + (earlier.cost_usd or 0)
  t.estimated = t.estimated or (earlier.estimated_cost_usd or 0) > 0
  t.unknown = t.unknown + (earlier.unknown_cost_requests or 0)
  t.co2e_g = t.co2e_g + (earlier.co2e_g or 0)
  refresh(buf)
  redraw_soon()
end

--- Asks the engine what the ledger holds for this document's file (once per buffer).
local watched = {}
local pending = {} -- token -> buffer
local registered = false
function M.watch(buf, path)
  if watched[buf] or not path then
    return
  end
  watched[buf] = true
  local host = require('ami.host')
  if not registered then
    registered = true
    host.on('document_usage', function(ev)
      local b = pending[ev.token]
      pending[ev.token] = nil
      if b and ev.totals and api.nvim_buf_is_valid(b) then
        M.add_earlier(b, ev.totals)
      end
    end)
  end
  local res = host.request('document_usage', path)
  if res and res.token then
    pending[res.token] = buf
  end
end

-- A file opened while the engine runs shows what the ledger recorded for it.  (Opening a file
-- never starts the engine: before the first ami command, totals come with the first thread.)
api.nvim_create_autocmd('BufReadPost', {
  group = api.nvim_create_augroup('ami.cost', { clear = true }),
  callback = function(a)
    local host = require('ami.host')
    if host.running() and a.file ~= '' then
      M.watch(a.buf, vim.fn.fnamemodify(a.file, ':p'))
    end
  end,
})

--- { requests, prompt_tokens, completion_tokens, cost_usd, estimated } for a buffer
--- (0: the current one; a thread buffer: its document).
function M.get(buf)
  buf = (buf == nil or buf == 0) and api.nvim_get_current_buf() or buf
  local thread = require('ami.thread').get(buf, false)
  if thread then
    buf = thread.doc
  end
  local t = totals[buf] or empty()
  return {
    requests = t.requests,
    prompt_tokens = t.prompt_tokens,
    completion_tokens = t.completion_tokens,
    cost_usd = t.cost_usd,
    estimated = t.estimated,
    unknown = t.unknown,
    co2e_g = t.co2e_g,
  }
end

--- The statusline text of the current buffer ("" when nothing was spent).  No RPC, no work.
function M.statusline()
  return line[api.nvim_get_current_buf()] or ''
end

return M
