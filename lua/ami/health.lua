-- ami.health: `:checkhealth ami`.
local M = {}

local health = vim.health or require('health')
local start = health.start or health.report_start
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local error = health.error or health.report_error
local info = health.info or health.report_info

function M.check()
  start('ami')

  local v = vim.version()
  local version = ('%d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.7') == 1 then
    ok('Neovim ' .. version)
  else
    error('Neovim ' .. version .. ': ami needs 0.7 or newer')
  end

  local host = require('ami.host')
  local bin = host.binary()
  if vim.fn.executable(bin) ~= 1 then
    error(('engine not found at %s'):format(bin), { 'run `make` in ' .. host.root(), 'or set $AMI_BIN' })
    return
  end
  local out = vim.fn.system({ bin, '--version' })
  if vim.v.shell_error ~= 0 then
    error(('%s --version failed: %s'):format(bin, vim.trim(out)))
    return
  end
  ok(('engine %s (%s)'):format(vim.trim(out), bin))

  local t0 = (vim.uv or vim.loop).hrtime()
  local pong, err = host.request('ping')
  if not pong then
    error('the engine does not answer: ' .. tostring(err))
    return
  end
  ok(('engine running (pid %d), answered a ping in %.1f ms'):format(pong.pid,
    ((vim.uv or vim.loop).hrtime() - t0) / 1e6))

  local st, serr = host.request('status')
  if not st then
    error('status: ' .. tostring(serr))
    return
  end
  if st.config_error and st.config_error ~= vim.NIL then
    error(st.config_error)
  elseif st.config_file and st.config_file ~= vim.NIL then
    ok('config file ' .. st.config_file)
  else
    info('no config file; using setup() options and defaults')
  end
  info(('provider %s, model %s'):format(st.provider, st.model))

  local key = st.key
  if key and key ~= vim.NIL then
    if key.present then
      ok(('API key for %s found in %s'):format(st.provider, key.source))
    elseif key.required then
      error(('no API key for %s: %s'):format(st.provider, key.hint))
    else
      info(('no API key for %s (optional for this provider)'):format(st.provider))
    end
    if key.warning and key.warning ~= vim.NIL then
      warn(key.warning)
    end
  end

  -- What leaves the machine (:help ami-secrets, ami-privacy).
  local c = require('ami.config').get()
  if c.secrets.mask then
    ok(('secrets are masked before sending%s'):format(#c.secrets.allow > 0
      and (' (%d allow pattern%s)'):format(#c.secrets.allow, #c.secrets.allow == 1 and '' or 's') or ''))
  else
    warn('secrets.mask = false: API keys, tokens and passwords in your documents are sent to the '
      .. 'provider as they are', { 'remove secrets = { mask = false } from your setup()' })
  end
  if c.provider == 'openrouter' then
    if c.privacy.data_collection == 'deny' then
      ok('OpenRouter is told to use no provider that keeps or trains on prompts'
        .. (c.privacy.zdr and ', and zero data retention endpoints only' or ''))
    else
      info('privacy.data_collection = "allow": OpenRouter may route to providers that keep or '
        .. 'train on prompts (free models ask first)')
    end
  end

  local ledger = st.ledger
  if not ledger.enabled then
    info('usage ledger disabled (ledger.enabled = false)')
  elseif ledger.writable then
    ok('usage ledger ' .. ledger.path)
  else
    error('usage ledger not writable: ' .. ledger.path, { 'set ledger.path to a writable file' })
  end
end

return M
