-- A JSON array of user records, about 3.5 KB: a typical API response to
-- compress. Prepended to the wrk scripts of load.sh and soak.sh.
function json_body()
  local records, i, len = {}, 0, 2
  while len < 3500 do
    local r = string.format(
      '{"id":%d,"name":"user-%d","email":"user%d@example.com","active":%s,"score":%d}',
      i, i, i, tostring(i % 3 ~= 0), i * 37 % 1000)
    records[#records + 1] = r
    len = len + #r + 1
    i = i + 1
  end
  return "[" .. table.concat(records, ",") .. "]"
end
