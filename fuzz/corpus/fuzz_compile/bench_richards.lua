-- Richards-like operating-system simulation: classes built from metatables,
-- inheritance through __index chains, method calls and linked packet queues.
local n = tonumber(arg and arg[1]) or 150

local function class(parent)
  local c = {}
  c.__index = c
  if parent then setmetatable(c, { __index = parent }) end
  return c
end

local Packet = class()
function Packet.new(link, dest, kind)
  return setmetatable({ link = link, dest = dest, kind = kind, datum = 0, data = { 0, 0, 0, 0 } }, Packet)
end
function Packet:append_to(queue)
  self.link = nil
  if not queue then return self end
  local p = queue
  while p.link do p = p.link end
  p.link = self
  return queue
end

local Task = class()
function Task.init(t, sched, id, prio, queue)
  t.sched, t.id, t.prio, t.queue = sched, id, prio, queue
  t.held, t.waiting = false, queue ~= nil
  return t
end
function Task:runnable() return not self.held and (self.queue ~= nil or not self.waiting) end
function Task:take_packet()
  local p = self.queue
  self.queue = p.link
  self.waiting = false
  return p
end
function Task:receive(p)
  if self.queue == nil then
    self.queue = p:append_to(nil)
    self.waiting = false
    return self.prio > self.sched.current.prio
  end
  self.queue = p:append_to(self.queue)
  return false
end

local Idle = class(Task)
function Idle.new(sched, id, count)
  local t = Task.init(setmetatable({}, Idle), sched, id, 0, nil)
  t.control, t.count = 1, count
  return t
end
function Idle:run()
  self.count = self.count - 1
  if self.count == 0 then return self.sched:hold_self() end
  if self.control % 2 == 0 then
    self.control = self.control / 2
    return self.sched:release(5)
  end
  self.control = (self.control - 1) / 2 + 26003
  return self.sched:release(6)
end

local Worker = class(Task)
function Worker.new(sched, id, queue)
  local t = Task.init(setmetatable({}, Worker), sched, id, 1000, queue)
  t.dest, t.count = 3, 0
  return t
end
function Worker:run(p)
  if not p then return self.sched:wait() end
  self.dest = (self.dest == 3) and 4 or 3
  p.dest = self.dest
  p.datum = 1
  for i = 1, 4 do
    self.count = self.count + 1
    if self.count > 26 then self.count = 1 end
    p.data[i] = self.count
  end
  return self.sched:queue_packet(p)
end

local Handler = class(Task)
function Handler.new(sched, id, prio, queue)
  local t = Task.init(setmetatable({}, Handler), sched, id, prio, queue)
  t.work, t.devices = nil, nil
  return t
end
function Handler:run(p)
  if p then
    if p.kind == "work" then self.work = p:append_to(self.work)
    else self.devices = p:append_to(self.devices) end
  end
  local w = self.work
  if w then
    local count = w.datum
    if count > 4 then
      self.work = w.link
      return self.sched:queue_packet(w)
    end
    local d = self.devices
    if d then
      self.devices = d.link
      d.datum = w.data[count]
      w.datum = count + 1
      return self.sched:queue_packet(d)
    end
  end
  return self.sched:wait()
end

local Device = class(Task)
function Device.new(sched, id, prio)
  local t = Task.init(setmetatable({}, Device), sched, id, prio, nil)
  t.pending = nil
  return t
end
function Device:run(p)
  if not p then
    local v = self.pending
    if not v then return self.sched:wait() end
    self.pending = nil
    return self.sched:queue_packet(v)
  end
  self.pending = p
  self.sched.checksum = (self.sched.checksum + p.datum * self.id) % 1000003
  return self.sched:hold_self()
end

local Scheduler = class()
function Scheduler.new()
  return setmetatable({ tasks = {}, list = {}, queued = 0, holds = 0, checksum = 0 }, Scheduler)
end
function Scheduler:add(t)
  self.tasks[t.id] = t
  local list = self.list
  local pos = #list + 1
  while pos > 1 and list[pos - 1].prio < t.prio do
    list[pos] = list[pos - 1]
    pos = pos - 1
  end
  list[pos] = t
end
function Scheduler:release(id)
  local t = self.tasks[id]
  t.held = false
  if t.prio > self.current.prio then return t end
  return self.current
end
function Scheduler:hold_self()
  self.holds = self.holds + 1
  self.current.held = true
  return nil
end
function Scheduler:wait()
  self.current.waiting = true
  return self.current
end
function Scheduler:queue_packet(p)
  local t = self.tasks[p.dest]
  self.queued = self.queued + 1
  p.link = nil
  p.dest = self.current.id
  if t:receive(p) then return t end
  return self.current
end
function Scheduler:run()
  local list = self.list
  local i = 1
  while i <= #list do
    local t = list[i]
    if t:runnable() then
      self.current = t
      local p = nil
      if t.queue and not t.held then p = t:take_packet() end
      local next_task = t:run(p)
      if next_task and next_task ~= t then
        i = 1
      elseif next_task == nil then
        i = i + 1
      end
    else
      i = i + 1
    end
  end
end

local total_q, total_h, total_c = 0, 0, 0
for round = 1, n do
  local s = Scheduler.new()
  s:add(Idle.new(s, 1, 1000 + round))
  local wq = Packet.new(nil, 2, "work")
  wq = Packet.new(wq, 2, "work")
  s:add(Worker.new(s, 2, wq))
  local q = Packet.new(nil, 5, "device")
  q = Packet.new(q, 5, "device")
  q = Packet.new(q, 5, "device")
  s:add(Handler.new(s, 3, 2000, q))
  q = Packet.new(nil, 6, "device")
  q = Packet.new(q, 6, "device")
  q = Packet.new(q, 6, "device")
  s:add(Handler.new(s, 4, 3000, q))
  s:add(Device.new(s, 5, 4000))
  s:add(Device.new(s, 6, 5000))
  s:run()
  total_q, total_h = total_q + s.queued, total_h + s.holds
  total_c = (total_c + s.checksum) % 1000003
end
print(string.format("richards %d: queued %d holds %d checksum %d", n, total_q, total_h, total_c))
