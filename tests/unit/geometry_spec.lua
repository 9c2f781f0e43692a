-- lg.geometry: sizes, tap ranges, counts and their text.
local geometry = require("lg.geometry")

describe("geometry", function()
  it("counts elements", function()
    assert.are.equal(6 * 28 * 28, geometry.elements({ 6, 28, 28 }))
    assert.are.equal(120, geometry.elements({ 120 }))
  end)
  it("computes PyTorch's output size", function()
    assert.are.equal(28, geometry.out_size(28, 5, 1, 2))
    assert.are.equal(14, geometry.out_size(28, 2, 2, 0))
    assert.are.equal(2, geometry.out_size(5, 3, 2, 0))
  end)
  it("clips tap ranges to the image", function()
    -- kernel 5, padding 2, size 28: position 0 starts 2 taps into the window
    assert.are.same({ 2, 4 }, { geometry.tap_range(0, 1, 2, 5, 28) })
    assert.are.same({ 0, 4 }, { geometry.tap_range(2, 1, 2, 5, 28) })
    assert.are.same({ 0, 2 }, { geometry.tap_range(27, 1, 2, 5, 28) })
  end)
  it("sums valid taps over an axis as the brute force does", function()
    for size = 1, 9 do
      for kernel = 1, size + 2 do
        for stride = 1, 3 do
          for pad = 0, 2 do
            if kernel <= size + 2 * pad then
              local count = geometry.out_size(size, kernel, stride, pad)
              local brute = 0
              for o = 0, count - 1 do
                local a, b = geometry.tap_range(o, stride, pad, kernel, size)
                brute = brute + math.max(b - a + 1, 0)
              end
              assert.are.equal(brute, geometry.axis_taps(count, size, kernel, stride, pad))
            end
          end
        end
      end
    end
  end)
  it("writes shapes, pairs and buffers", function()
    assert.are.equal("6x28x28", geometry.shape_text({ 6, 28, 28 }))
    assert.are.equal("120", geometry.shape_text({ 120 }))
    assert.are.equal("[6, 1, 5, 5]", geometry.shape_list({ 6, 1, 5, 5 }))
    assert.are.equal("5x3", geometry.pair_text({ h = 5, w = 3 }))
    assert.are.equal("scratch[10..19]", geometry.buffer_text({ kind = "arena", offset = 10 }, 10))
    assert.are.equal("output", geometry.buffer_text({ kind = "output" }, 10))
  end)
end)
