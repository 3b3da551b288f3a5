-- Counts a script's answers by status and prints the totals over all of
-- wrk's threads when the run ends, as one line run.sh copies into its
-- table: `answers: 12 checked, 3 unavailable`. A script loads it with
--   dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "tally.lua")
-- (beside the script, wherever wrk is run from) and calls it with the
-- statuses to count, in the order they are printed:
--   tally({ { 401, "checked" }, { 503, "unavailable" } })
-- It defines wrk's setup, init, response and done; the script keeps
-- request (and delay). An optional second argument, classify(status,
-- headers), gives the number an answer is counted under, for answers that
-- share a status but not a meaning (a redirect to two places, say).
return function(counted, classify)
  local threads = {}

  -- Each thread's counts are globals of its own Lua state, which is what
  -- done() can read back with thread:get().
  local function name(status)
    return "answers_" .. status
  end

  function setup(thread)
    table.insert(threads, thread)
  end

  function init()
    for _, count in ipairs(counted) do
      _G[name(count[1])] = 0
    end
  end

  function response(status, headers)
    local key = name(classify and classify(status, headers) or status)
    if _G[key] then
      _G[key] = _G[key] + 1
    end
  end

  function done()
    local parts = {}
    for _, count in ipairs(counted) do
      local total = 0
      for _, t in ipairs(threads) do
        total = total + t:get(name(count[1]))
      end
      table.insert(parts, string.format("%d %s", total, count[2]))
    end
    io.write("answers: " .. table.concat(parts, ", ") .. "\n")
  end
end
