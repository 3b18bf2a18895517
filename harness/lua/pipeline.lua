-- GET / pipelined: each connection sends DEPTH requests back to back in one write and
-- waits for all DEPTH answers before the next batch. Argument: DEPTH (default 16).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "done.lua")

local batch

function init(args)
   local depth = tonumber(args[1]) or 16
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format("GET", "/")
   end
   batch = table.concat(r)
end

function request()
   return batch
end
