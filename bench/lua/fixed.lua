-- The same request over and over: wrk <url> -s fixed.lua -- [METHOD] [BODY]
-- Headers (cookie, Accept-Encoding) come from wrk's -H options.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local prepared

function init(args)
   local method = args[1] or "GET"
   local body = args[2]
   local extra = {}
   if body == nil or body == "" then
      body = nil
   else
      extra["Content-Type"] = "application/x-www-form-urlencoded"
   end
   prepared = wrk.format(method, wrk.path, headers_with(extra), body)
end

function request()
   return prepared
end

function response(status, headers, body)
   record_status(status)
end
