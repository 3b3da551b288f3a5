-- S8/S9: a flood of wrong passwords for bench0..bench63. S8: from one IPv6
-- /64, a new address in it for every request (what a client rotating
-- through its own prefix sends). S9 (SPREAD set): from a new IPv4 network
-- for every request, which no per-network limit can stop — every attempt
-- reaches the password check, so the hashing queue's bound is what holds.
-- Counts the answers by status: 401 (the password was checked) and the
-- refusals, 429 (the network's limit) and 503 (the queue's bound).
local spread = os.getenv("SPREAD")
local n = 0

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "") .. "tally.lua")({
  { 401, "checked" },
  { 429, "limited" },
  { 503, "unavailable" },
})

function request()
  n = n + 1
  local from
  if spread then
    from = string.format("10.%d.%d.1", math.floor(n / 256) % 256, n % 256)
  else
    from = string.format("2001:db8:f00d:1::%x", n % 65536)
  end
  local body = '{"username":"bench' .. (n % 64) .. '","password":"not the passphrase"}'
  return wrk.format("POST", "/login",
    { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = from }, body)
end
