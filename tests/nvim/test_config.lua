-- setup(): validation naming the field, the defaults shared with the engine.
local h = require('helpers')

local T = {}

T[#T + 1] = { 'setup_rejects_a_bad_field_by_name', function()
  local ami = require('ami')
  h.eq(false, ami.setup({ budget = { montly_usd = 5 } }))
  h.contains(h.notes[#h.notes].msg, 'config: unknown field budget.montly_usd (did you mean budget.monthly_usd?)')
  h.eq(false, ami.setup({ max_tokens = 'many' }))
  h.contains(h.notes[#h.notes].msg, 'config: max_tokens must be a whole number of tokens, not a string')
  h.eq(false, ami.setup({ sidebar = { position = 'middle' } }))
  h.contains(h.notes[#h.notes].msg, 'sidebar.position must be right, left, top or bottom, not "middle"')
  h.eq(false, ami.setup({ prices = { ['m/x'] = { prompt = 1 } } }))
  h.contains(h.notes[#h.notes].msg, 'prices.m/x needs both prompt and completion prices')
  h.eq(true, ami.setup({ model = 'openai/gpt-4o', budget = { monthly_usd = 5 } }))
  h.eq('openai/gpt-4o', require('ami.config').get().model)
  h.eq(true, ami.setup({}))
end }

T[#T + 1] = { 'defaults_match_the_engine', function()
  local host = require('ami.host')
  local out = vim.fn.system({ host.binary(), 'config', '--defaults' })
  h.eq(0, vim.v.shell_error, 'ami config --defaults')
  local engine = vim.fn.json_decode(out)
  local lua = require('ami.config').defaults()
  -- JSON null and an empty Lua table both stand for "nothing set".
  local function norm(v)
    if v == vim.NIL then
      return nil
    end
    if type(v) == 'table' then
      local r = {}
      for k, x in pairs(v) do
        r[k] = norm(x)
      end
      return r
    end
    return v
  end
  h.eq(norm(engine), norm(lua))
end }

T[#T + 1] = { 'the_engine_validates_the_same_way', function()
  local host = require('ami.host')
  require('ami.config').setup({})
  -- Send a bad table straight to the engine (setup() would have refused it).
  local res, err = host.request('configure', { ledger = { enabled = 1 } })
  h.eq(nil, res)
  h.contains(err, 'config: ledger.enabled must be true or false, not a number')
  h.eq(true, host.request('configure', { ledger = { enabled = false } }))
  local st = host.request('status')
  h.eq(false, st.ledger.enabled)
end }

T[#T + 1] = { 'the_engine_reads_the_config_file_too', function()
  local dir = vim.env.XDG_CONFIG_HOME .. '/ami'
  vim.fn.mkdir(dir, 'p')
  vim.fn.writefile({ '{"model": "mistralai/mistral-medium-3"}' }, dir .. '/config.json')
  local host = require('ami.host')
  local st = host.request('status')
  h.eq('mistralai/mistral-medium-3', st.model)
  h.eq(dir .. '/config.json', st.config_file)
  -- setup() options win over the file.
  require('ami').setup({ model = 'openai/gpt-4o' })
  h.eq('openai/gpt-4o', host.request('status').model)
  require('ami').setup({})
  os.remove(dir .. '/config.json')
end }

return T
