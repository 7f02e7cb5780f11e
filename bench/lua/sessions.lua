-- One survey submit per session: wrk <url> -s sessions.lua -- SESSIONS_FILE THREADS
-- Each line of SESSIONS_FILE is "<Cookie header value>\t<urlencoded form body>".
-- Thread n takes the lines n, n+THREADS, ...; every session is used once.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "common.lua")

local prepared = {}
local index = 0

function init(args)
   local path, thread_count = args[1], tonumber(args[2])
   local line_number = 0
   for line in io.lines(path) do
      if line_number % thread_count == thread_id then
         local cookie, body = line:match("^([^\t]*)\t(.*)$")
         prepared[#prepared + 1] = wrk.format("POST", wrk.path, headers_with({
            ["Cookie"] = cookie,
            ["Content-Type"] = "application/x-www-form-urlencoded",
         }), body)
      end
      line_number = line_number + 1
   end
end

function request()
   index = index + 1
   if index > #prepared then
      -- Out of sessions: resend the last one (answered "already sent") and say so.
      count("sessions_exhausted")
      return prepared[#prepared]
   end
   return prepared[index]
end

function response(status, headers, body)
   record_status(status)
   if status == 303 then
      local location = headers["Location"] or headers["location"] or ""
      if location == "/thanks" or location:match("^https?://[^/]+/thanks$") then
         count("to_thanks")
      else
         count("to_elsewhere")
      end
   end
end
