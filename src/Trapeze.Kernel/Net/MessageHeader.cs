using Trapeze.Kernel.Abi;
using Trapeze.Kernel.Memory;

namespace Trapeze.Kernel.Net;

/// <summary>struct msghdr as the guest lays it out (linux/socket.h), read into plain values.</summary>
public struct MessageHeader
{
    public ulong Name;
    public int NameLength;
    public ulong Vectors;
    public ulong VectorCount;
    public ulong Control;
    public ulong ControlLength;
    public int Flags;
}

/// <summary>The guest's msghdr, mmsghdr and cmsghdr layouts, from the kernel's declarations and the data model.</summary>
public sealed class MessageLayouts
{
    private static readonly MessageLayouts Lp64 = new(DataModel.Lp64), I386 = new(DataModel.I386), Arm = new(DataModel.ArmEabi);

    private readonly GuestLayout header;
    private readonly GuestLayout multiple;

    private MessageLayouts(DataModel model)
    {
        Model = model;
        (CType, string)[] fields =
        [
            (CType.Pointer, "msg_name"), (CType.Int, "msg_namelen"), (CType.Pointer, "msg_iov"), (CType.Long, "msg_iovlen"),
            (CType.Pointer, "msg_control"), (CType.Long, "msg_controllen"), (CType.Int, "msg_flags"),
        ];
        header = new GuestLayout(model, fields);
        // The msghdr inside keeps its own size (padded to 56 bytes on LP64) before msg_len.
        (CType, string)[] padding = model.WordSize == 8 ? [(CType.Pad4, "__pad")] : [];
        multiple = new GuestLayout(model, [.. fields, .. padding, (CType.Int, "msg_len")]);
    }

    public static MessageLayouts For(DataModel model) => model.WordSize == 8 ? Lp64 : model.LongLongAlignment == 4 ? I386 : Arm;

    public DataModel Model { get; }

    /// <summary>sizeof(struct mmsghdr): a msghdr and the count of bytes moved.</summary>
    public int MultipleSize => multiple.Size;

    public int MultipleLengthOffset => multiple.OffsetOf("msg_len");

    public int NameLengthOffset => header.OffsetOf("msg_namelen");

    /// <summary>sizeof(struct cmsghdr): cmsg_len is a size_t, then level and type.</summary>
    public int ControlHeaderSize => Model.WordSize + 8;

    /// <summary>CMSG_ALIGN: to the size of a C long.</summary>
    public int Align(int length) => (length + Model.WordSize - 1) & ~(Model.WordSize - 1);

    public Errno Read(GuestMemory memory, GuestAddress address, out MessageHeader message)
    {
        message = default;
        Span<long> values = stackalloc long[7];
        if (header.Read(memory, address, values) is var fault and not Errno.None)
            return fault;
        message = new MessageHeader
        {
            Name = (ulong)values[0],
            NameLength = (int)values[1],
            Vectors = (ulong)values[2],
            VectorCount = (ulong)values[3],
            Control = (ulong)values[4],
            ControlLength = (ulong)values[5],
            Flags = (int)values[6],
        };
        return Errno.None;
    }

    /// <summary>What recvmsg writes back: the name's length, the control's length and the flags.</summary>
    public Errno WriteResults(GuestMemory memory, GuestAddress address, int nameLength, ulong controlLength, int flags)
    {
        if (memory.Write(address + (ulong)header.OffsetOf("msg_namelen"), nameLength) is var fault and not Errno.None)
            return fault;
        var control = address + (ulong)header.OffsetOf("msg_controllen");
        var lengthFault = Model.WordSize == 8 ? memory.Write(control, controlLength) : memory.Write(control, (uint)controlLength);
        if (lengthFault is not Errno.None)
            return lengthFault;
        return memory.Write(address + (ulong)header.OffsetOf("msg_flags"), flags);
    }

    /// <summary>mmsghdr's msg_len of entry <paramref name="index"/>.</summary>
    public Errno WriteLength(GuestMemory memory, GuestAddress vector, int index, uint length)
        => memory.Write(vector + (ulong)(index * multiple.Size + multiple.OffsetOf("msg_len")), length);

    public GuestAddress Entry(GuestAddress vector, int index) => vector + (ulong)(index * multiple.Size);

    /// <summary>Splits a control buffer into (level, type, data) the way CMSG_FIRSTHDR/CMSG_NXTHDR walk it; EINVAL for a malformed one.</summary>
    public Errno ParseControl(ReadOnlySpan<byte> control, List<(int Level, int Type, byte[] Data)> messages)
    {
        var offset = 0;
        while (offset + ControlHeaderSize <= control.Length)
        {
            var length = Model.WordSize == 8 ? (long)BitConverter.ToUInt64(control[offset..]) : BitConverter.ToUInt32(control[offset..]);
            if (length < ControlHeaderSize || length > control.Length - offset)
                return Errno.EINVAL;
            var level = BitConverter.ToInt32(control[(offset + Model.WordSize)..]);
            var type = BitConverter.ToInt32(control[(offset + Model.WordSize + 4)..]);
            messages.Add((level, type, control.Slice(offset + ControlHeaderSize, (int)length - ControlHeaderSize).ToArray()));
            offset += Align((int)length);
        }
        return Errno.None;
    }

    /// <summary>Appends one control message in the guest's layout.</summary>
    public void AppendControl(List<byte> into, int level, int type, ReadOnlySpan<byte> data, bool pad)
    {
        var length = ControlHeaderSize + data.Length;
        Span<byte> head = stackalloc byte[ControlHeaderSize];
        if (Model.WordSize == 8)
            BitConverter.TryWriteBytes(head, (ulong)length);
        else
            BitConverter.TryWriteBytes(head, (uint)length);
        BitConverter.TryWriteBytes(head[Model.WordSize..], level);
        BitConverter.TryWriteBytes(head[(Model.WordSize + 4)..], type);
        into.AddRange(head);
        into.AddRange(data);
        if (pad)
            into.AddRange(new byte[Align(length) - length]);
    }
}
