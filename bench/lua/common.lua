-- Shared by the wrk scripts in this folder: numbers each thread, counts
-- response statuses per thread, and prints one summary line as JSON
-- ("WRK_JSON {...}") that bench/harness.py reads.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("thread_id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

statuses = {}
counters = {}

function count(name)
   counters[name] = (counters[name] or 0) + 1
end

function record_status(status)
   statuses[status] = (statuses[status] or 0) + 1
end

-- Copy of wrk.headers (-H options) plus extra ones: wrk.format replaces, not merges.
function headers_with(extra)
   local headers = {}
   for key, value in pairs(wrk.headers) do headers[key] = value end
   for key, value in pairs(extra or {}) do headers[key] = value end
   return headers
end

local function object(tbl)
   local parts = {}
   for key, value in pairs(tbl) do
      parts[#parts + 1] = string.format('"%s":%.0f', tostring(key), value)
   end
   return "{" .. table.concat(parts, ",") .. "}"
end

local function add_into(total, part)
   for key, value in pairs(part or {}) do total[key] = (total[key] or 0) + value end
end

function done(summary, latency, requests)
   local all_statuses, all_counters = {}, {}
   for _, thread in ipairs(threads) do
      add_into(all_statuses, thread:get("statuses"))
      add_into(all_counters, thread:get("counters"))
   end
   local errors = summary.errors
   io.write("WRK_JSON {",
      string.format('"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,', summary.requests, summary.duration, summary.bytes),
      string.format('"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f,',
         latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max),
      '"errors":', object({connect = errors.connect, read = errors.read, write = errors.write,
                           status = errors.status, timeout = errors.timeout}), ",",
      '"statuses":', object(all_statuses), ",",
      '"counters":', object(all_counters), "}\n")
end
