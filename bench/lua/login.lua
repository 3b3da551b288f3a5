-- S4: a login storm for pre-registered users bench0..bench63.
local n = 0
request = function()
  n = (n + 1) % 64
  local body = '{"username":"bench' .. n .. '","password":"a benchmark passphrase"}'
  return wrk.format("POST", "/login", { ["Content-Type"] = "application/json" }, body)
end
