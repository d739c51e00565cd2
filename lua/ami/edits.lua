-- ami.edits: the edits made to a document since a moment, and a range carried through them.
--
-- A critique is asked about the document as it was when it was sent; its notes arrive while
-- the writer goes on typing.  The engine finds each note's words in the text as sent, so
-- their range must be carried through every edit made since: this module keeps those edits
-- (as nvim_buf_attach's on_bytes reports them) and maps a range through them.  Pure
-- arithmetic on positions: no buffer is read.
--
-- Positions are { row, col } (0-based, byte columns); a range is { sr, sc, er, ec }, end
-- exclusive.  An edit replaced the text from (sr, sc) to its old end by text that ends at its
-- new end; old and new ends are given, as on_bytes gives them, relative to the start (a row
-- count, and a column that is relative to sc when the row count is 0).
local M = {}

--- A new, empty log.  Its `n` counts every edit ever recorded, so a mark (M.mark) stays valid
--- when old entries are dropped.
function M.new()
  return { n = 0, first = 1, entries = {} }
end

--- Records one edit (the arguments of on_bytes after the buffer and changedtick).
function M.record(log, sr, sc, old_er, old_ec, new_er, new_ec)
  log.n = log.n + 1
  log.entries[log.n] = { sr, sc, old_er, old_ec, new_er, new_ec }
end

--- The log's position now: edits recorded after it are the ones map() applies.
function M.mark(log)
  return log.n
end

--- Forgets the edits up to mark (no range will be mapped from before it any more).
function M.forget(log, mark)
  for i = log.first, math.min(mark, log.n) do
    log.entries[i] = nil
  end
  log.first = math.max(log.first, mark + 1)
end

-- Absolute end position of an edit's old or new text.
local function abs_end(sr, sc, er, ec)
  if er == 0 then
    return sr, sc + ec
  end
  return sr + er, ec
end

local function before(r1, c1, r2, c2)
  return r1 < r2 or (r1 == r2 and c1 < c2)
end

-- Moves (r, c), known to be at or after the old end (oer, oec), by the edit.
local function shift(r, c, oer, oec, ner, nec)
  if r == oer then
    return ner, nec + (c - oec)
  end
  return r + (ner - oer), c
end

--- Carries range through the edits recorded after mark.  Returns the new range and whether
--- an edit touched the words themselves (text inserted strictly inside them, or any of them
--- replaced or deleted): then the range is a best guess around what is left, and empty when
--- the words are gone.  Text inserted right before or right after the words does not touch
--- them.
function M.map(log, mark, range)
  local sr, sc, er, ec = range[1], range[2], range[3], range[4]
  local touched = false
  for i = math.max(mark + 1, log.first), log.n do
    local e = log.entries[i]
    local esr, esc = e[1], e[2]
    local oer, oec = abs_end(esr, esc, e[3], e[4])
    local ner, nec = abs_end(esr, esc, e[5], e[6])
    if not before(esr, esc, er, ec) then
      -- Entirely after the words (or at their very end): nothing moves.
    elseif not before(sr, sc, oer, oec) then
      -- Entirely before them (or ending at their start): both ends move.
      sr, sc = shift(sr, sc, oer, oec, ner, nec)
      er, ec = shift(er, ec, oer, oec, ner, nec)
    else
      -- The edit overlaps the words.
      touched = true
      if before(sr, sc, esr, esc) then
        -- The start stays; the end goes to the end of the new text or moves with the rest.
        if before(er, ec, oer, oec) then
          er, ec = ner, nec
        else
          er, ec = shift(er, ec, oer, oec, ner, nec)
        end
      else
        -- The start was replaced: the words now start where the edit's new text ends, unless
        -- the end was inside too (then nothing of them is left).
        if before(er, ec, oer, oec) or (er == oer and ec == oec) then
          sr, sc, er, ec = ner, nec, ner, nec
          if e[5] > 0 or e[6] > 0 then
            -- Replaced by other text: keep the new text as the guess.
            sr, sc = esr, esc
          end
        else
          sr, sc = ner, nec
          er, ec = shift(er, ec, oer, oec, ner, nec)
        end
      end
    end
  end
  return { sr, sc, er, ec }, touched
end

return M
