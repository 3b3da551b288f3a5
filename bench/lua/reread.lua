-- S2: re-read already-unlocked posts 1-5, logged in (cookie from $COOKIE).
local n = 0
request = function()
  n = n % 5 + 1
  return wrk.format("GET", "/blog/" .. n, { ["Cookie"] = os.getenv("COOKIE") })
end
