-- GET / on keep-alive connections (wrk's own static request); only adds the JSON done().
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "done.lua")
