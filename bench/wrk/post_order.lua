-- wrk script for POST /orders: the bench's load generator when wrk is installed (a C client uses
-- far less of the machine's CPU than a JVM one, as pgbench does on its side). Each request is an
-- order for one of 1,000 customers, like the bench's own client.
math.randomseed(os.time())
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  local user = string.format("00000000-0000-4000-8000-%012d", math.random(0, 999))
  local body = string.format('{"user_id":"%s","amount":%d.%02d}', user, math.random(1, 99999), math.random(0, 99))
  return wrk.format(nil, nil, nil, body)
end
