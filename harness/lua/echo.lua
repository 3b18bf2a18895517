-- POST /echo with a body of SIZE bytes (argument, default 1024) on keep-alive connections:
-- what copying a request body in and out of the server costs.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "done.lua")

local req

function init(args)
   local size = tonumber(args[1]) or 1024
   local pattern = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/"
   local body = string.rep(pattern, math.ceil(size / #pattern)):sub(1, size)
   req = wrk.format("POST", "/echo", { ["Content-Type"] = "application/octet-stream" }, body)
end

function request()
   return req
end
