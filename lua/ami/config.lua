-- ami.config: defaults, validation, and the current options.
--
-- The schema is the one of the C engine (src/config.c), which reads the same fields from
-- the CLI's JSON file; tests/nvim/test_config.lua checks that both give the same defaults.
-- Errors name the field by its full path, like the engine's.
local M = {}

-- vim.tbl_islist is deprecated from Neovim 0.10 on, where vim.islist replaces it.
local islist = vim.islist or vim.tbl_islist

local defaults = {
  provider = 'openrouter',
  model = 'anthropic/claude-sonnet-4',
  max_tokens = 2048,
  temperature = vim.NIL,
  language = 'auto',
  frame_ms = 16,
  connect_timeout_s = 10,
  stall_timeout_s = 60,
  max_answer_bytes = 4 * 1024 * 1024,
  context_tokens = 0,
  providers = {},
  prices = {},
  budget = { monthly_usd = vim.NIL, per_request_usd = vim.NIL },
  usage = { locale = 'en' },
  ledger = { enabled = true, path = vim.NIL, store_text = true },
  carbon = { enabled = true, points = { { 200, 0.4 }, { 2000, 1.0 }, { 20000, 2.0 } } },
  sidebar = { position = 'right', width = 0.4, height = 0.35, wrap = true, highlight = 'ami' },
  quote = { format = 'markdown' },
  notes = { enabled = true, severity = 'hint', virtual_text = false, signs = true, highlight = true },
  -- Secrets masked before anything is sent (:help ami-secrets).
  secrets = { mask = true, allow = {} },
  -- What the provider may keep (:help ami-privacy): OpenRouter's data_collection and zdr.
  privacy = { data_collection = 'deny', zdr = false },
  -- The personal arena (:help ami-arena).
  compare = { models = { 'anthropic/claude-sonnet-4', 'google/gemini-2.5-flash' }, blind = true, min_votes = 5 },
  -- Question presets (:Critique clarity): questions a friend would ask, never instructions to
  -- rewrite; the same as the engine's (src/config.c).
  questions = {
    clarity = 'Is this passage clear and explicit? What could a reader misunderstand? Point at the specific words.',
    reader = 'How would a reader who does not know the subject read this passage? Where would they get lost, and what would they need to know first?',
    concision = 'What in this passage adds nothing or says the same thing twice? Point at the words or sentences, and say why.',
    argument = 'Does the reasoning of this passage hold? Where is a step missing, a claim unsupported, or a conclusion stronger than what leads to it?',
    tone = 'What tone does this passage take, and does it suit its reader and its purpose? Point at the words that set it.',
  },
  -- The thread's keys (:help ami-thread-keys): a key, a list of keys, or false.
  keys = {
    open = { 'i', 'a', '<CR>' },
    send = { '<CR>' },
    send_insert = { '<C-s>' },
    close = { 'q' },
    close_insert = { '<Esc><Esc>' },
    history_prev = { '<Up>', '<C-p>' },
    history_next = { '<Down>', '<C-n>' },
    stop = { '<C-c>' },
    vote_a = { 'a' },
    vote_b = { 'b' },
    vote_tie = { 't' },
    vote_bad = { 'x' },
  },
}

-- Schema nodes: t = string | string? | integer | number | number? | boolean | enum | object
-- | map | points; help = what the value should be (as in the engine's messages).
local S = {}
S.provider = {
  t = 'object',
  fields = {
    kind = { t = 'enum', choices = { 'openai', 'anthropic' },
      help = '"openai" (any OpenAI-compatible server) or "anthropic"' },
    base_url = { t = 'string', help = 'a URL such as https://openrouter.ai/api/v1' },
    api_key_env = { t = 'string?', help = 'the name of an environment variable' },
    api_key_cmd = { t = 'string?', help = 'a shell command that prints the key' },
    api_key = { t = 'string?', help = 'the key itself (prefer api_key_env or api_key_cmd)' },
    app_url = { t = 'string?', help = 'a URL' },
    app_title = { t = 'string?', help = 'a short name' },
    context_tokens = { t = 'integer', min = 0, max = 1e9, help = 'a number of tokens' },
    management_key_cmd = { t = 'string?', help = 'a shell command that prints a management key' },
  },
}
S.price = {
  t = 'object',
  fields = {
    prompt = { t = 'number', min = 0, max = 1e6, help = 'US dollars per million prompt tokens' },
    completion = { t = 'number', min = 0, max = 1e6, help = 'US dollars per million completion tokens' },
  },
}
S.root = {
  t = 'object',
  fields = {
    provider = { t = 'string', help = 'a provider name such as "openrouter"' },
    model = { t = 'string', help = 'a model id such as "anthropic/claude-sonnet-4"' },
    max_tokens = { t = 'integer', min = 1, max = 1e7, help = 'a whole number of tokens' },
    temperature = { t = 'number?', min = 0, max = 2,
      help = "a number between 0 and 2, or null for the model's default" },
    language = { t = 'string', help = '"auto" (the document\'s language) or a language such as "French"' },
    frame_ms = { t = 'integer', min = 1, max = 1000, help = 'milliseconds between text updates' },
    connect_timeout_s = { t = 'number', min = 0.1, max = 600, help = 'seconds' },
    stall_timeout_s = { t = 'number', min = 1, max = 3600, help = 'seconds' },
    max_answer_bytes = { t = 'integer', min = 1024, max = 1e9, help = 'bytes' },
    context_tokens = { t = 'integer', min = 0, max = 1e9, help = 'a number of tokens (0: from the model list)' },
    providers = { t = 'map', item = S.provider, help = 'an object of providers' },
    prices = { t = 'map', item = S.price, help = 'an object of model prices' },
    budget = { t = 'object', help = 'an object', fields = {
      monthly_usd = { t = 'number?', min = 0, max = 1e9, help = 'a number of US dollars, or null' },
      per_request_usd = { t = 'number?', min = 0, max = 1e9, help = 'a number of US dollars, or null' },
    } },
    usage = { t = 'object', help = 'an object', fields = {
      locale = { t = 'enum', choices = { 'en', 'fr' }, help = '"en" ($1,234.56) or "fr" (1 234,56 $)' },
    } },
    ledger = { t = 'object', help = 'an object', fields = {
      enabled = { t = 'boolean', help = 'true or false' },
      path = { t = 'string?', help = 'a file path, or null' },
      store_text = { t = 'boolean', help = 'true or false' },
    } },
    carbon = { t = 'object', help = 'an object', fields = {
      enabled = { t = 'boolean', help = 'true or false' },
      points = { t = 'points' },
    } },
    sidebar = { t = 'object', help = 'an object', fields = {
      position = { t = 'enum', choices = { 'right', 'left', 'top', 'bottom' }, help = 'right, left, top or bottom' },
      width = { t = 'number', min = 0.05, max = 1000,
        help = "columns, or a fraction of the editor's width between 0 and 1" },
      height = { t = 'number', min = 0.05, max = 1000,
        help = "lines, or a fraction of the editor's height between 0 and 1" },
      wrap = { t = 'boolean', help = 'true or false' },
      highlight = { t = 'enum', choices = { 'ami', 'markdown' }, help = 'ami or markdown' },
    } },
    quote = { t = 'object', help = 'an object', fields = {
      format = { t = 'string', help = '"markdown", "plain", or a template using {text}, {model} and {date}' },
    } },
    questions = { t = 'questions', help = 'an object of preset names and their questions' },
    keys = { t = 'object', help = 'an object', fields = {
      open = { t = 'keys' }, send = { t = 'keys' }, send_insert = { t = 'keys' }, close = { t = 'keys' },
      close_insert = { t = 'keys' }, history_prev = { t = 'keys' }, history_next = { t = 'keys' },
      stop = { t = 'keys' }, vote_a = { t = 'keys' }, vote_b = { t = 'keys' }, vote_tie = { t = 'keys' },
      vote_bad = { t = 'keys' },
    } },
    secrets = { t = 'object', help = 'an object', fields = {
      mask = { t = 'boolean', help = 'true or false' },
      allow = { t = 'strlist', help = 'a list of strings' },
    } },
    privacy = { t = 'object', help = 'an object', fields = {
      data_collection = { t = 'enum', choices = { 'deny', 'allow' }, help = '"deny" or "allow"' },
      zdr = { t = 'boolean', help = 'true or false' },
    } },
    compare = { t = 'object', help = 'an object', fields = {
      models = { t = 'strlist', help = 'a list of strings' },
      blind = { t = 'boolean', help = 'true or false' },
      min_votes = { t = 'integer', min = 1, max = 1e6, help = 'a number of votes' },
    } },
    notes = { t = 'object', help = 'an object', fields = {
      enabled = { t = 'boolean', help = 'true or false' },
      severity = { t = 'enum', choices = { 'error', 'warn', 'info', 'hint' }, help = 'error, warn, info or hint' },
      virtual_text = { t = 'boolean', help = 'true or false' },
      signs = { t = 'boolean', help = 'true or false' },
      highlight = { t = 'boolean', help = 'true or false' },
    } },
  },
}

local function kind(v)
  if v == nil or v == vim.NIL then
    return 'null'
  end
  local t = type(v)
  if t == 'string' then
    return 'a string'
  elseif t == 'number' then
    return 'a number'
  elseif t == 'boolean' then
    return 'a boolean'
  elseif t == 'table' then
    if islist(v) and #v > 0 then
      return 'a list'
    end
    return 'an object'
  end
  return 'a ' .. t
end

local function distance(a, b)
  if #a > 40 or #b > 40 then
    return 99
  end
  local row = {}
  for j = 0, #b do
    row[j] = j
  end
  for i = 1, #a do
    local diag = row[0]
    row[0] = i
    for j = 1, #b do
      local up = row[j]
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      row[j] = math.min(diag + cost, row[j] + 1, row[j - 1] + 1)
      diag = up
    end
  end
  return row[#b]
end

local function join(prefix, name)
  return prefix == '' and name or (prefix .. '.' .. name)
end

local check

local function check_object(node, v, path)
  if type(v) ~= 'table' or (islist(v) and #v > 0) then
    return ('%s must be %s, not %s'):format(path, node.help or 'an object', kind(v))
  end
  local names = vim.tbl_keys(v)
  table.sort(names, function(a, b)
    return tostring(a) < tostring(b)
  end)
  for _, name in ipairs(names) do
    local sub = join(path, tostring(name))
    local f = node.fields[name]
    if not f then
      local best, best_d = nil, 3
      for cand in pairs(node.fields) do
        local d = distance(cand, tostring(name))
        if d < best_d then
          best, best_d = cand, d
        end
      end
      if best then
        return ('unknown field %s (did you mean %s?)'):format(sub, join(path, best))
      end
      return 'unknown field ' .. sub
    end
    local err = check(f, v[name], sub)
    if err then
      return err
    end
  end
end

check = function(node, v, path)
  local t = node.t
  local is_null = v == nil or v == vim.NIL
  if t == 'string' or t == 'string?' then
    if is_null and t == 'string?' then
      return
    end
    if type(v) ~= 'string' or (t == 'string' and v == '') then
      return ('%s must be %s, not %s'):format(path, node.help, kind(v))
    end
  elseif t == 'enum' then
    if type(v) ~= 'string' then
      return ('%s must be %s, not %s'):format(path, node.help, kind(v))
    end
    if not vim.tbl_contains(node.choices, v) then
      return ('%s must be %s, not "%s"'):format(path, node.help, v)
    end
  elseif t == 'integer' or t == 'number' or t == 'number?' then
    if is_null and t == 'number?' then
      return
    end
    if type(v) ~= 'number' or (t == 'integer' and v ~= math.floor(v)) then
      return ('%s must be %s, not %s'):format(path, node.help, kind(v))
    end
    if v < node.min or v > node.max then
      return ('%s must be between %g and %g, not %g'):format(path, node.min, node.max, v)
    end
  elseif t == 'boolean' then
    if type(v) ~= 'boolean' then
      return ('%s must be %s, not %s'):format(path, node.help, kind(v))
    end
  elseif t == 'object' then
    return check_object(node, v, path)
  elseif t == 'map' then
    if type(v) ~= 'table' or (islist(v) and #v > 0) then
      return ('%s must be %s, not %s'):format(path, node.help, kind(v))
    end
    for name, item in pairs(v) do
      local sub = join(path, tostring(name))
      if type(item) ~= 'table' or (islist(item) and #item > 0) then
        return ('%s must be an object, not %s'):format(sub, kind(item))
      end
      local err = check_object(node.item, item, sub)
      if err then
        return err
      end
      if node.item == S.price and (item.prompt == nil or item.completion == nil) then
        return sub .. ' needs both prompt and completion prices'
      end
    end
  elseif t == 'questions' then
    if type(v) ~= 'table' or (islist(v) and #v > 0) then
      return ('%s must be %s, not %s'):format(path, node.help, kind(v))
    end
    for name, q in pairs(v) do
      local sub = join(path, tostring(name))
      if type(name) ~= 'string' or name == '' or name:find(' ') then
        return sub .. ": a preset's name is one word"
      end
      if type(q) ~= 'string' or q == '' then
        return ('%s must be a question (a string), not %s'):format(sub, kind(q))
      end
    end
  elseif t == 'strlist' then
    if type(v) ~= 'table' or (next(v) ~= nil and not islist(v)) then
      return ('%s must be %s, not %s'):format(path, node.help, kind(v))
    end
    for i, x in ipairs(v) do
      if type(x) ~= 'string' or x == '' then
        return ('%s[%d] must be a non-empty string, not %s'):format(path, i,
          type(x) == 'string' and 'an empty string' or kind(x))
      end
    end
  elseif t == 'keys' then
    local ok = v == false or (type(v) == 'string' and v ~= '')
    if type(v) == 'table' and #v > 0 and islist(v) then
      ok = true
      for _, k in ipairs(v) do
        ok = ok and type(k) == 'string' and k ~= ''
      end
    end
    if not ok then
      return ('%s must be a key, a list of keys, or false, not %s'):format(path, kind(v))
    end
  elseif t == 'points' then
    if type(v) ~= 'table' or #v == 0 then
      return path .. ' must be a non-empty list of [total tokens, grams] pairs'
    end
    local prev = 0
    for i, p in ipairs(v) do
      if type(p) ~= 'table' or #p ~= 2 or type(p[1]) ~= 'number' or type(p[2]) ~= 'number'
        or p[1] <= prev or p[2] < 0 then
        return ('%s[%d] must be a pair [total tokens, grams] with tokens > 0 and greater than the previous pair\'s')
          :format(path, i)
      end
      prev = p[1]
    end
  end
end

--- Checks opts against the schema; returns nil, or one sentence naming the bad field.
function M.validate(opts)
  if opts == nil then
    return nil
  end
  if type(opts) ~= 'table' then
    return 'config: the settings must be a table, not ' .. kind(opts)
  end
  local err = check_object(S.root, opts, '')
  return err and ('config: ' .. err) or nil
end

-- vim.deepcopy of Neovim 0.7 refuses vim.NIL (userdata): copy and merge by hand.
local function copy(v)
  if type(v) ~= 'table' then
    return v
  end
  local r = {}
  for k, x in pairs(v) do
    r[k] = copy(x)
  end
  return r
end

local function merge(base, over)
  local r = copy(base)
  for k, v in pairs(over) do
    if type(v) == 'table' and type(r[k]) == 'table' and not islist(v) then
      r[k] = merge(r[k], v)
    else
      r[k] = copy(v)
    end
  end
  return r
end

local current
local user = {}

-- The model chosen with :AmiModel (ami.state) wins while setup()'s model is still the one it
-- was chosen against, and the provider is the same.
local function remembered()
  local st = require('ami.state').read()
  if type(st.model) ~= 'string' or st.model == '' then
    return
  end
  local configured = user.model or defaults.model
  if (st.setup_model == nil or st.setup_model == configured)
    and (st.provider == nil or st.provider == current.provider) then
    current.model = st.model
    user.model = st.model
  end
end

current = copy(defaults)
remembered()

--- Validates and applies opts over the defaults.  Returns true, or false and the error.
function M.setup(opts)
  local err = M.validate(opts)
  if err then
    return false, err
  end
  user = copy(opts or {})
  current = merge(defaults, user)
  M.setup_model = user.model or defaults.model
  remembered()
  return true
end

--- The model setup() (or the defaults) named, before any :AmiModel choice.
function M.configured_model()
  return M.setup_model or defaults.model
end

--- The options in effect (defaults merged with setup()'s).
function M.get()
  return current
end

--- What setup() was given, as the engine should receive it: only the user's own fields, so
--- the engine's defaults and the JSON file fill the rest.
function M.user()
  return user
end

--- Sets one option at run time (e.g. :AmiModel), keeping it for later restarts of the host.
function M.set(key, value)
  user[key] = value
  current[key] = value
end

function M.defaults()
  return copy(defaults)
end

return M
