-- Writer API parameter data: 100 rows per request (timestamps, 3 numeric
-- columns, 1 string column, 1 tag column).
package.path = package.path .. ";" .. os.getenv("BENCH_DIR") .. "/?.lua"
require("common")
local function column(f)
  local values = {}
  for i = 0, 99 do values[#values + 1] = f(i) end
  return "[" .. table.concat(values, ",") .. "]"
end
wrk.method = "POST"
wrk.path = "/topics/telemetry/streams/bench-params/parameters/data"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = '{"epoch":1700000000000000000,"timestamps":' .. column(function(i) return i * 10000000 end)
  .. ',"numericValues":{"speed":' .. column(function(i) return string.format("%.2f", 200 + i * 0.37) end)
  .. ',"rpm":' .. column(function(i) return 9000 + i end)
  .. ',"throttle":' .. column(function(i) return string.format("%.3f", (i % 10) / 10) end)
  .. '},"stringValues":{"gear":' .. column(function(i) return '"' .. (i % 7 + 1) .. '"' end)
  .. '},"tagValues":{"lap":' .. column(function(i) return '"12"' end) .. '}}'
