using Trapeze.Kernel.Abi.Linux;
using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;
using Trapeze.Kernel.Net;
using Trapeze.Kernel.Tasks;

namespace Trapeze.Kernel.Syscalls;

/// <summary>
/// Data through sockets: send, recv, sendto, recvfrom, sendmsg, recvmsg, sendmmsg, recvmmsg. The
/// guest's msghdr becomes a <see cref="SocketMessage"/> (data as host segments, ancillary data
/// decoded: SCM_RIGHTS carries open files, so any kind of descriptor travels), and back.
/// </summary>
public static class SocketMessages
{
    /// <summary>UIO_MAXIOV, and SCM_MAX_FD: the most iovecs and passed descriptors one message takes.</summary>
    private const int MaximumVectors = 1024, MaximumRights = 253;

    /// <summary>The most messages one sendmmsg/recvmmsg moves (UIO_MAXIOV).</summary>
    private const uint MaximumMessages = 1024;

    [Syscall("send", Support = Support.Partial, Note = "see sendto")]
    public static Result Send(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Buffer, SizeFrom = nameof(length))] GuestAddress buffer, ulong length, MessageFlags flags)
        => SendTo(thread, fd, buffer, length, flags, default, 0);

    [Syscall("recv", Support = Support.Partial, Note = "see recvfrom")]
    public static Result Receive(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Buffer, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result)] GuestAddress buffer, ulong length, MessageFlags flags)
        => ReceiveFrom(thread, fd, buffer, length, flags, default, default);

    [Syscall("sendto", Support = Support.Partial, Note = "MSG_OOB, MSG_MORE and MSG_EOR are passed to host sockets and ignored by local ones")]
    public static Result SendTo(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Buffer, SizeFrom = nameof(length))] GuestAddress buffer, ulong length, MessageFlags flags,
        [Argument(ArgumentKind.SocketAddress, SizeFrom = nameof(addressLength))] GuestAddress address, int addressLength)
    {
        if (Sockets.SocketOf(thread, fd, out var socket) is { IsError: true } error)
            return error;
        if (Segments(thread, buffer, length, write: false, out var segments) is var fault and not Errno.None)
            return fault;
        var message = new SocketMessage(segments);
        if (!address.IsNull && addressLength != 0)
        {
            if (SocketAddresses.Read(thread.Memory, address, addressLength, out var name) is var nameFault and not Errno.None)
                return nameFault;
            message.Address = name;
        }
        return socket!.Send(thread, message, flags);
    }

    [Syscall("recvfrom", Support = Support.Partial, Note = "MSG_OOB and MSG_ERRQUEUE only on host sockets")]
    public static Result ReceiveFrom(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.Buffer, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result)] GuestAddress buffer, ulong length, MessageFlags flags,
        [Argument(ArgumentKind.SocketAddress, Direction = Direction.Out, SizeFrom = nameof(addressLength))] GuestAddress address, [Argument(ArgumentKind.SocketLength, Direction = Direction.Out)] GuestAddress addressLength)
    {
        if (Sockets.SocketOf(thread, fd, out var socket) is { IsError: true } error)
            return error;
        if (Segments(thread, buffer, length, write: true, out var segments) is var fault and not Errno.None)
            return fault;
        var message = new SocketMessage(segments) { WantsAddress = !address.IsNull };
        var result = socket!.Receive(thread, message, flags);
        message.ReleaseRights();
        if (result.IsError || !result.IsFinished || address.IsNull)
            return result;
        // A connected stream has no sender's address to give: Linux leaves the buffer and sets the length to 0.
        if (message.Address is null)
            return thread.Memory.Write(addressLength, 0) is var lengthFault and not Errno.None ? lengthFault : result;
        return SocketAddresses.Write(thread.Memory, address, addressLength, message.Address) is { IsError: true } nameFault ? nameFault : result;
    }

    [Syscall("sendmsg", Support = Support.Partial, Note = "SCM_RIGHTS and SCM_CREDENTIALS on AF_UNIX; other ancillary data passed to 64-bit guests' host sockets")]
    public static Result SendMessage(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.MessageHeader)] GuestAddress header, MessageFlags flags)
        => Sockets.SocketOf(thread, fd, out var socket) is { IsError: true } error ? error : SendOne(thread, socket!, header, flags);

    [Syscall("recvmsg", Support = Support.Partial, Note = "SCM_RIGHTS (MSG_CMSG_CLOEXEC) and SCM_CREDENTIALS on AF_UNIX; host sockets' ancillary data for 64-bit guests")]
    public static Result ReceiveMessage(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.MessageHeader, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result)] GuestAddress header, MessageFlags flags)
        => Sockets.SocketOf(thread, fd, out var socket) is { IsError: true } error ? error : ReceiveOne(thread, socket!, header, flags);

    [Syscall("sendmmsg", Support = Support.Partial, Note = "messages after the first never wait: a full socket ends the batch")]
    public static Result SendMultiple(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.MultipleMessageHeaders, SizeFrom = nameof(count))] GuestAddress vector, uint count, MessageFlags flags)
        => Multiple(thread, fd, vector, count, flags, send: true);

    [Syscall("recvmmsg", Support = Support.Partial, Note = "messages after the first never wait (as with MSG_WAITFORONE); the timeout is not applied")]
    public static Result ReceiveMultiple(GuestThread thread, [Argument(ArgumentKind.Fd)] int fd, [Argument(ArgumentKind.MultipleMessageHeaders, Direction = Direction.Out, SizeFrom = ArgumentAttribute.Result)] GuestAddress vector, uint count, MessageFlags flags,
        [Argument(ArgumentKind.Timespec)] GuestAddress timeout)
        => Multiple(thread, fd, vector, count, flags & ~MessageFlags.MSG_WAITFORONE, send: false);

    private static Result Multiple(GuestThread thread, int fd, GuestAddress vector, uint count, MessageFlags flags, bool send)
    {
        if (Sockets.SocketOf(thread, fd, out var socket) is { IsError: true } error)
            return error;
        var layouts = MessageLayouts.For(thread.Process.Personality.Structures.Model);
        count = Math.Min(count, MaximumMessages);
        for (var index = 0; index < count; index++)
        {
            var entry = layouts.Entry(vector, index);
            var entryFlags = index == 0 ? flags : flags | MessageFlags.MSG_DONTWAIT;
            var result = send ? SendOne(thread, socket!, entry, entryFlags) : ReceiveOne(thread, socket!, entry, entryFlags);
            if (!result.IsFinished)
                return result;
            if (result.IsError)
                return index > 0 ? index : result;
            thread.RetryState = null;
            if (layouts.WriteLength(thread.Memory, vector, index, (uint)result.Raw) is var fault and not Errno.None)
                return index > 0 ? index : fault;
        }
        return count;
    }

    private static Result SendOne(GuestThread thread, Socket socket, GuestAddress header, MessageFlags flags)
    {
        var layouts = MessageLayouts.For(thread.Process.Personality.Structures.Model);
        if (layouts.Read(thread.Memory, header, out var fields) is var fault and not Errno.None)
            return fault;
        if (Vectors(thread, fields, write: false, out var segments) is { IsError: true } vectorError)
            return vectorError;
        var message = new SocketMessage(segments);
        if (fields.Name != 0 && fields.NameLength != 0)
        {
            if (SocketAddresses.Read(thread.Memory, new GuestAddress(fields.Name), fields.NameLength, out var name) is var nameFault and not Errno.None)
                return nameFault;
            message.Address = name;
        }
        if (fields.ControlLength > 0 && ReadControl(thread, socket, layouts, fields, message) is { IsError: true } controlError)
            return controlError;
        var result = socket.Send(thread, message, flags);
        message.ReleaseRights();
        return result;
    }

    /// <summary>Decodes sendmsg's ancillary data into the message: files for SCM_RIGHTS, checked credentials for SCM_CREDENTIALS.</summary>
    private static Result ReadControl(GuestThread thread, Socket socket, MessageLayouts layouts, MessageHeader fields, SocketMessage message)
    {
        if (fields.ControlLength > int.MaxValue || (long)fields.ControlLength > 1 << 20)
            return Errno.ENOBUFS;
        var control = new byte[fields.ControlLength];
        if (thread.Memory.Read(new GuestAddress(fields.Control), control) is var fault and not Errno.None)
            return fault;
        if (socket is HostSocket)
        {
            // Host sockets understand the host's layout, which is the guest's only on 64-bit.
            if (layouts.Model.WordSize != 8)
                return Errno.EINVAL;
            message.HostControl = control;
            return 0;
        }
        var parsed = new List<(int Level, int Type, byte[] Data)>();
        if (layouts.ParseControl(control, parsed) is var invalid and not Errno.None)
            return invalid;
        foreach (var (level, type, data) in parsed)
        {
            if (level != (int)SocketLevel.SOL_SOCKET || socket.Family != AddressFamily.AF_UNIX)
                return Errno.EINVAL;
            if (type == (int)ControlMessageType.SCM_RIGHTS)
            {
                message.Rights ??= [];
                for (var at = 0; at + 4 <= data.Length; at += 4)
                {
                    if (message.Rights.Count >= MaximumRights)
                    {
                        message.ReleaseRights();
                        return Errno.EINVAL;
                    }
                    if (thread.Process.Files.Get(BitConverter.ToInt32(data, at)) is not { } file)
                    {
                        message.ReleaseRights();
                        return Errno.EBADF;
                    }
                    file.AddReference();
                    message.Rights.Add(file);
                }
            }
            else if (type == (int)ControlMessageType.SCM_CREDENTIALS && data.Length >= 12)
            {
                var given = new Credentials(BitConverter.ToInt32(data), BitConverter.ToUInt32(data, 4), BitConverter.ToUInt32(data, 8));
                var own = LocalSocket.CredentialsOf(thread);
                // Only root may claim to be someone else.
                if (given != own && thread.Kernel.Credentials.EffectiveUserId != 0)
                {
                    message.ReleaseRights();
                    return Errno.EPERM;
                }
                message.Credentials = given;
            }
            else
            {
                message.ReleaseRights();
                return Errno.EINVAL;
            }
        }
        return 0;
    }

    private static Result ReceiveOne(GuestThread thread, Socket socket, GuestAddress header, MessageFlags flags)
    {
        var layouts = MessageLayouts.For(thread.Process.Personality.Structures.Model);
        if (layouts.Read(thread.Memory, header, out var fields) is var fault and not Errno.None)
            return fault;
        if (Vectors(thread, fields, write: true, out var segments) is { IsError: true } vectorError)
            return vectorError;
        var capacity = (int)Math.Min(fields.Control == 0 ? 0 : fields.ControlLength, 1 << 20);
        var message = new SocketMessage(segments)
        {
            WantsAddress = fields.Name != 0 && fields.NameLength > 0,
            ControlCapacity = socket is HostSocket && layouts.Model.WordSize != 8 ? 0 : capacity,
        };
        var result = socket.Receive(thread, message, flags);
        if (result.IsError || !result.IsFinished)
        {
            message.ReleaseRights();
            return result;
        }
        var nameLength = 0;
        if (message.Address is { } name)
        {
            nameLength = name.Length;
            var shown = Math.Min(name.Length, fields.NameLength);
            if (thread.Memory.Write(new GuestAddress(fields.Name), name.AsSpan(0, shown)) is var nameFault and not Errno.None)
            {
                message.ReleaseRights();
                return nameFault;
            }
        }
        var control = WriteControl(thread, layouts, message, capacity, (flags & MessageFlags.MSG_CMSG_CLOEXEC) != 0);
        // Linux starts msg_flags from the call's MSG_CMSG_CLOEXEC.
        message.ReturnedFlags |= flags & MessageFlags.MSG_CMSG_CLOEXEC;
        if (control.Count > 0 && thread.Memory.Write(new GuestAddress(fields.Control), control.ToArray()) is var controlFault and not Errno.None)
            return controlFault;
        return layouts.WriteResults(thread.Memory, header, nameLength, (ulong)control.Count, (int)message.ReturnedFlags) is var resultFault and not Errno.None
            ? resultFault : result;
    }

    /// <summary>recvmsg's ancillary data in the guest's layout: credentials, then the passed files as new descriptors (MSG_CTRUNC when they do not fit).</summary>
    private static List<byte> WriteControl(GuestThread thread, MessageLayouts layouts, SocketMessage message, int capacity, bool closeOnExec)
    {
        var control = new List<byte>();
        if (message.HostControl is { } raw)
        {
            control.AddRange(raw);
            return control;
        }
        if (message.Credentials is { } credentials)
        {
            var size = layouts.Align(layouts.ControlHeaderSize + 12);
            if (control.Count + size <= capacity)
            {
                var data = new byte[12];
                BitConverter.TryWriteBytes(data, credentials.ProcessId);
                BitConverter.TryWriteBytes(data.AsSpan(4), credentials.UserId);
                BitConverter.TryWriteBytes(data.AsSpan(8), credentials.GroupId);
                layouts.AppendControl(control, (int)SocketLevel.SOL_SOCKET, (int)ControlMessageType.SCM_CREDENTIALS, data, pad: true);
            }
            else
            {
                message.ReturnedFlags |= MessageFlags.MSG_CTRUNC;
            }
        }
        if (message.Rights is { Count: > 0 } rights)
        {
            var room = (capacity - control.Count - layouts.ControlHeaderSize) / 4;
            var numbers = new List<int>();
            foreach (var file in rights)
            {
                if (numbers.Count >= room || thread.Process.Files.Add(file, closeOnExec) is not { IsError: false } added)
                {
                    file.Release();
                    message.ReturnedFlags |= MessageFlags.MSG_CTRUNC;
                    continue;
                }
                numbers.Add((int)added.Raw);
            }
            message.Rights = null;
            if (numbers.Count > 0)
            {
                var data = new byte[numbers.Count * 4];
                for (var i = 0; i < numbers.Count; i++)
                    BitConverter.TryWriteBytes(data.AsSpan(i * 4), numbers[i]);
                // The last message is not padded past the buffer (Linux's put_cmsg copies cmsg_len bytes).
                layouts.AppendControl(control, (int)SocketLevel.SOL_SOCKET, (int)ControlMessageType.SCM_RIGHTS, data, pad: false);
            }
        }
        return control;
    }

    private static Result Vectors(GuestThread thread, MessageHeader fields, bool write, out List<HostSegment> segments)
    {
        segments = [];
        if (fields.VectorCount > MaximumVectors)
            return Errno.EMSGSIZE;
        for (var index = 0; index < (int)fields.VectorCount; index++)
        {
            if (thread.Process.Personality.Structures.ReadIoVector(thread.Memory, new GuestAddress(fields.Vectors), index, out var vector) is var error and not Errno.None)
                return error;
            if ((long)vector.Length < 0)
                return Errno.EINVAL;
            if (vector.Length > 0 && thread.Memory.GetSegments(new GuestAddress(vector.Base), vector.Length, write, segments) is var fault and not Errno.None)
                return fault;
        }
        return 0;
    }

    private static Errno Segments(GuestThread thread, GuestAddress buffer, ulong length, bool write, out List<HostSegment> segments)
    {
        segments = [];
        return length == 0 ? Errno.None : thread.Memory.GetSegments(buffer, Math.Min(length, 0x7fff_f000), write, segments);
    }
}
