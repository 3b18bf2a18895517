-- Shared by every harness script: at the end of a run, wrk calls done() and we print
-- one JSON line (prefixed HB-WRK-JSON) that the harness reads instead of wrk's text table.
-- Times are microseconds, as wrk keeps them. errors.status counts answers wrk saw with
-- status >= 400 (wrk counts no other non-2xx without a per-response Lua callback,
-- which would slow the client down).

local function n(x) return string.format("%.0f", x) end

function done(summary, latency, requests)
   local e = summary.errors
   local parts = {
      '"duration_us":' .. n(summary.duration),
      '"requests":' .. n(summary.requests),
      '"bytes":' .. n(summary.bytes),
      '"errors":{"connect":' .. n(e.connect) .. ',"read":' .. n(e.read) ..
         ',"write":' .. n(e.write) .. ',"status":' .. n(e.status) ..
         ',"timeout":' .. n(e.timeout) .. '}',
      '"latency_us":{"min":' .. n(latency.min) .. ',"max":' .. n(latency.max) ..
         ',"mean":' .. string.format("%.1f", latency.mean) ..
         ',"stdev":' .. string.format("%.1f", latency.stdev) ..
         ',"p50":' .. n(latency:percentile(50)) ..
         ',"p90":' .. n(latency:percentile(90)) ..
         ',"p99":' .. n(latency:percentile(99)) ..
         ',"p99.9":' .. n(latency:percentile(99.9)) .. '}',
   }
   io.write("HB-WRK-JSON {" .. table.concat(parts, ",") .. "}\n")
end
