-- Runs one test file: a Lua module returning a list of { name, fn } (or a table of name =
-- fn, run in name order).  Each test runs in pcall; a test fails when it raises.  Prints
-- "ok"/"FAIL" lines, then "nvim/<file>: N passed, M failed", and exits non-zero on failure.
local M = {}

local function out(s)
  io.stdout:write(s .. '\n')
  io.stdout:flush()
end

function M.run(path)
  local name = vim.fn.fnamemodify(path, ':t:r')
  local label = vim.env.AMI_NVIM_LABEL or 'nvim'
  local ok_load, tests = pcall(dofile, path)
  if not ok_load then
    out('FAIL ' .. name .. ' (could not load)\n' .. tostring(tests))
    out(('%s/%s: 0 passed, 1 failed'):format(label, name))
    vim.cmd('cquit 1')
    return
  end
  local list = {}
  if (vim.islist or vim.tbl_islist)(tests) then
    list = tests
  else
    for k, fn in pairs(tests) do
      if type(fn) == 'function' and k:match('^test_') then
        table.insert(list, { k, fn })
      end
    end
    table.sort(list, function(a, b)
      return a[1] < b[1]
    end)
  end
  local passed, failed, skipped = 0, 0, 0
  local h = require('helpers')
  for _, t in ipairs(list) do
    local start = (vim.uv or vim.loop).hrtime()
    local ok, err = xpcall(t[2], debug.traceback)
    local ok_reset, reset_err = pcall(h.reset)
    if ok and not ok_reset then
      ok, err = false, 'reset after the test failed: ' .. tostring(reset_err)
    end
    local secs = ((vim.uv or vim.loop).hrtime() - start) / 1e9
    local skip = not ok and tostring(err):match('AMI_SKIP: ([^\n]*)')
    if skip then
      skipped = skipped + 1
      out(('skip %s.%s: %s'):format(name, t[1], skip))
    elseif ok then
      passed = passed + 1
      out(('ok   %s.%s (%.2fs)'):format(name, t[1], secs))
    else
      failed = failed + 1
      out(('FAIL %s.%s (%.2fs)\n%s'):format(name, t[1], secs, tostring(err)))
    end
  end
  pcall(h.shutdown)
  if skipped > 0 then
    out(('(%d skipped)'):format(skipped))
  end
  out(('%s/%s: %d passed, %d failed'):format(label, name, passed, failed))
  if failed > 0 then
    vim.cmd('cquit 1')
  else
    vim.cmd('qall!')
  end
end

return M
