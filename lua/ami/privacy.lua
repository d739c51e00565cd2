-- ami.privacy: asking before sending a document to a model that may train on it.
--
-- OpenRouter's free variants (model ids ending in ":free") are served by providers that may
-- keep and train on prompts.  With privacy.data_collection = "deny" (the default) ami tells
-- OpenRouter to use no such provider; with "allow", sending a document to a free model asks
-- for confirmation once per model and Neovim session (vim.ui.select, so pickers take over).
local M = {}

local confirmed = {} -- model -> true

function M.needs_confirmation(model)
  local c = require('ami.config').get()
  return type(model) == 'string' and model:find(':free$') ~= nil
    and c.privacy.data_collection ~= 'deny' and not confirmed[model]
end

--- Calls go() now, or once the writer has agreed to send to each of models (a list).
function M.confirm(models, go)
  for _, model in ipairs(models) do
    if M.needs_confirmation(model) then
      local yes = ('Send it: I accept that %s may keep and train on this text'):format(model)
      vim.ui.select({ yes, 'Cancel' }, {
        prompt = ('ami: %s is a free model: its providers may keep and train on what you send'):format(model),
        kind = 'ami.privacy',
      }, function(choice)
        if choice == yes then
          confirmed[model] = true
          M.confirm(models, go)
        else
          vim.notify('ami: not sent (privacy.data_collection = "deny" refuses such providers)',
            vim.log.levels.INFO)
        end
      end)
      return false
    end
  end
  go()
  return true
end

--- Forgets the confirmations (tests).
function M.reset()
  confirmed = {}
end

return M
