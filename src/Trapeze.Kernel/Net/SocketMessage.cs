using Trapeze.Kernel.Files;
using Trapeze.Kernel.Memory;

namespace Trapeze.Kernel.Net;

/// <summary>The sender's credentials a message carries (struct ucred): SO_PEERCRED and SCM_CREDENTIALS.</summary>
public readonly record struct Credentials(int ProcessId, uint UserId, uint GroupId);

/// <summary>
/// One sendmsg or recvmsg as the kernel sees it, whatever the guest's struct msghdr looks like: the
/// data as host segments of guest memory, the address, and the ancillary data already decoded.
/// </summary>
public sealed class SocketMessage(List<HostSegment> data)
{
    public List<HostSegment> Data { get; } = data;

    public ulong Length
    {
        get
        {
            ulong total = 0;
            foreach (var segment in Data)
                total += segment.Length;
            return total;
        }
    }

    /// <summary>send: where to (null for the connected peer); receive: filled with the sender's address when the guest asked for it.</summary>
    public byte[]? Address { get; set; }

    /// <summary>receive: the guest gave room for an address.</summary>
    public bool WantsAddress { get; init; }

    /// <summary>SCM_RIGHTS: open files passed along (each holds a reference the message owns).</summary>
    public List<OpenFile>? Rights { get; set; }

    /// <summary>SCM_CREDENTIALS.</summary>
    public Credentials? Credentials { get; set; }

    /// <summary>Ancillary data passed to and from a host socket unchanged (the host's cmsg layout).</summary>
    public byte[]? HostControl { get; set; }

    /// <summary>receive: room for ancillary data in the guest's buffer.</summary>
    public int ControlCapacity { get; init; }

    /// <summary>receive: msg_flags (MSG_TRUNC, MSG_CTRUNC, MSG_EOR).</summary>
    public Abi.Linux.MessageFlags ReturnedFlags { get; set; }

    /// <summary>Copies <paramref name="source"/> into the data segments from byte <paramref name="offset"/>; returns how much fit.</summary>
    public int Scatter(ReadOnlySpan<byte> source, int offset = 0)
    {
        var done = 0;
        var skip = offset;
        foreach (var segment in Data)
        {
            if (done == source.Length)
                break;
            if ((ulong)skip >= segment.Length)
            {
                skip -= (int)segment.Length;
                continue;
            }
            var room = (int)Math.Min(segment.Length - (ulong)skip, (ulong)(source.Length - done));
            source.Slice(done, room).CopyTo(HostSegments.Span(segment, skip + room)[skip..]);
            done += room;
            skip = 0;
        }
        return done;
    }

    /// <summary>The data bytes from <paramref name="offset"/>, at most <paramref name="count"/>.</summary>
    public byte[] Gather(int offset, int count)
    {
        var bytes = new byte[count];
        HostSegments.Gather(Data, offset, bytes);
        return bytes;
    }

    /// <summary>Releases passed files nobody received.</summary>
    public void ReleaseRights()
    {
        foreach (var file in Rights ?? [])
            file.Release();
        Rights = null;
    }
}
