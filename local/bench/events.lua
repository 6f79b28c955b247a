-- Writer API event writes: one event per request.
package.path = package.path .. ";" .. os.getenv("BENCH_DIR") .. "/?.lua"
require("common")
wrk.method = "POST"
wrk.path = "/topics/telemetry/streams/bench-events/events/data"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.body = '[{"id":"lap","timestamp":1700000000000000000,"value":"Lap 12 completed in 81.3 s","tags":{"car":"7","driver":"ann"}}]'
