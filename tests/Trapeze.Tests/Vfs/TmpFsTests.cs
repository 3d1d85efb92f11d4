using Trapeze.Tests.Support;

namespace Trapeze.Tests.Vfs;

/// <summary>
/// Trapeze's own file systems: a program working in a --tmpfs directory sees what it sees in a host
/// directory, and /dev under --root is Trapeze's DevFs.
/// </summary>
public sealed class TmpFsTests
{
    /// <summary>The file-family cases whose output does not depend on which file system holds their scratch directory (FIFOs, sockets and inotify watches on a tmpfs included).</summary>
    public static TheoryData<string> Cases() => new(
        from name in new[] { "c_files", "fs_names", "fs_links", "fs_modes", "fs_mmap", "fs_memfd", "fs_locks", "fs_fifo", "fs_inotify", "fs_transfer", "net_unix" }
        from variant in new[] { "glibc-static", "musl-dynamic" }
        where File.Exists(Path.Combine(Runner.CasesBuild, $"{name}.{variant}"))
        select $"{name}.{variant}");

    [Theory]
    [MemberData(nameof(Cases))]
    public void CaseInATmpFsMatchesTheHostDirectory(string name)
    {
        var program = Path.Combine(Runner.CasesBuild, name);
        var native = Directory.CreateTempSubdirectory("trapeze-native-").FullName;
        var mountPoint = Directory.CreateTempSubdirectory("trapeze-tmpfs-").FullName;
        try
        {
            var expected = Runner.Run(program, [native]);
            var actual = Runner.RunTrapeze("run", "--tmpfs", mountPoint, "--", program, mountPoint);
            Assert.Equal(expected.Stdout.Replace(native, "$TMP"), actual.Stdout.Replace(mountPoint, "$TMP"));
            Assert.Equal(expected.ExitCode, actual.ExitCode);
            Assert.Empty(Directory.GetFileSystemEntries(mountPoint)); // the guest's files never reached the host
        }
        finally
        {
            Directory.Delete(native, recursive: true);
            Directory.Delete(mountPoint, recursive: true);
        }
    }

    [Fact]
    public void ShellWorksInATmpFs()
    {
        var mountPoint = Directory.CreateTempSubdirectory("trapeze-tmpfs-").FullName;
        try
        {
            var script = $"""
                cd {mountPoint} && echo hi > a && mkdir -p d/e && ln a d/b && ln -s a s && mv d/b d/e/c
                cat s d/e/c; stat -c '%h %s %a %F' a d s; ls -a d/e | tr '\n' ' '; echo
                df -k . | tail -1 | tr -s ' ' | cut -d' ' -f1,2,6
                touch -d '2001-02-03 04:05:06' a d; stat -c '%y' a d | cut -c1-19
                rm -r d; ls | tr '\n' ' '; echo; mkdir d; rmdir d; rmdir . 2>/dev/null || echo busy
                grep ' {mountPoint} ' /proc/self/mounts | cut -d' ' -f1,3
                """;
            var result = Runner.RunTrapeze("run", "--tmpfs", $"{mountPoint}:size=2m,mode=700", "/bin/busybox", "sh", "-c", script);
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Equal($"""
                hi
                hi
                2 3 644 regular file
                3 60 755 directory
                1 1 777 symbolic link
                . .. c 
                tmpfs 2048 {mountPoint}
                2001-02-03 04:05:06
                2001-02-03 04:05:06
                a s 
                busy
                tmpfs tmpfs

                """, result.Stdout);
            Assert.Empty(Directory.GetFileSystemEntries(mountPoint));
        }
        finally
        {
            Directory.Delete(mountPoint, recursive: true);
        }
    }

    /// <summary>
    /// A tmpfs with size= and nr_inodes= fills up: short writes, then ENOSPC for write, pwrite,
    /// writev, appends and fallocate (all or nothing), none for a sparse ftruncate; statfs counts
    /// as Linux's shmem (an unlinked open file keeps its pages until closed, each hard link takes an
    /// inode). The expected output is a native run in a real tmpfs mounted the same way, repeated
    /// here when this machine lets an unprivileged user namespace mount one.
    /// </summary>
    [Theory]
    [InlineData("gcc", "-static")]
    [InlineData("musl-gcc", "-O1")]
    public void FullTmpFsAnswersAsLinux(string compiler, string option)
    {
        var top = Directory.CreateTempSubdirectory("trapeze-full-").FullName;
        try
        {
            var program = Path.Combine(top, "tmpfs_full");
            var build = Runner.Run(compiler, [option, "-o", program, Path.Combine(Runner.Root, "tests", "Trapeze.Tests", "Vfs", "tmpfs_full.c")]);
            Assert.True(build.ExitCode == 0, build.Stderr);
            var mountPoint = Directory.CreateDirectory(Path.Combine(top, "mnt")).FullName;
            var expected = File.ReadAllText(Path.Combine(Runner.Root, "tests", "Trapeze.Tests", "Vfs", "tmpfs_full.expected"));
            var native = Runner.Run("unshare", ["-rm", "sh", "-c", $"mount -t tmpfs -o size=256k,nr_inodes=16 tmpfs {mountPoint} && exec {program} {mountPoint}"]);
            if (native.ExitCode == 0)
                Assert.Equal(expected, native.Stdout);
            var actual = Runner.RunTrapeze("run", "--tmpfs", $"{mountPoint}:size=256k,nr_inodes=16", "--", program, mountPoint);
            Assert.True(actual.ExitCode == 0, actual.Stderr);
            Assert.Equal(expected, actual.Stdout);
            Assert.Empty(Directory.GetFileSystemEntries(mountPoint));
        }
        finally
        {
            Directory.Delete(top, recursive: true);
        }
    }

    [Fact]
    public void BadTmpFsOptionsGetOneLine()
    {
        var result = Runner.RunTrapeze("run", "--tmpfs", "/tmp:size=lots", "/bin/true");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--tmpfs /tmp: bad size= value", result.Stderr);
        var inodes = Runner.RunTrapeze("run", "--tmpfs", "/tmp:nr_inodes=10%", "/bin/true");
        Assert.Contains("--tmpfs /tmp: bad nr_inodes= value", inodes.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);
        var missing = Runner.RunTrapeze("run", "--tmpfs", "/no/such/directory", "/bin/true");
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("--tmpfs /no/such/directory: cannot mount there", missing.Stderr);
    }
}
