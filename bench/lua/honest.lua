-- S8/S9: an honest user logging in with the right password from an address
-- of her own while the flood runs, one login at a time, 100 ms apart: the
-- time she waits, and how often she is turned away (503).
local body = '{"username":"honest","password":"a benchmark passphrase"}'
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init()
  ok, unavailable = 0, 0
end

function request()
  return wrk.format("POST", "/login",
    { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = "198.51.100.7" }, body)
end

function delay()
  return 100
end

function response(status)
  if status == 200 then
    ok = ok + 1
  elseif status == 503 then
    unavailable = unavailable + 1
  end
end

function done()
  local o, u = 0, 0
  for _, t in ipairs(threads) do
    o, u = o + t:get("ok"), u + t:get("unavailable")
  end
  io.write(string.format("answers: %d signed in, %d unavailable\n", o, u))
end
