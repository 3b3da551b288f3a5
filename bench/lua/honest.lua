-- S8/S9: an honest user logging in with the right password from an address
-- of her own while the flood runs, one login at a time, 100 ms apart: the
-- time she waits, and how often she is turned away (503).
local body = '{"username":"honest","password":"a benchmark passphrase"}'

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "tally.lua")({
  { 200, "signed in" },
  { 503, "unavailable" },
})

function request()
  return wrk.format("POST", "/login",
    { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = "198.51.100.7" }, body)
end

function delay()
  return 100
end
